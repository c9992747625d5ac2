package execx

import (
	"errors"
	"strings"
)

// SplitWords splits s into words the way a POSIX shell splits a simple command line,
// but performs no expansion at all: `$(...)`, backquotes, `$VAR`, globs, `;`, `|`, `&`
// and redirections are ordinary characters. It exists so that a string of arguments
// coming from outside (a workflow input, a PR comment) can be turned into argv without
// ever passing through a shell.
//
// Rules: blanks (space, tab, newline) separate words; '...' keeps everything literally;
// "..." keeps everything literally except that a backslash escapes \ " $ and `
// (and a backslash-newline disappears); outside quotes a backslash makes the next
// character literal; "" and ” produce an empty word. An unterminated quote or a
// trailing backslash is an error.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, errors.New("unterminated single quote in arguments")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					switch rs[j+1] {
					case '\\', '"', '$', '`':
						j++
					case '\n':
						j++
						continue
					}
				}
				cur.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, errors.New("unterminated double quote in arguments")
			}
			i = j
		case c == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("arguments end with a lone backslash")
			}
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
