package execx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "  full-sweep   --single-node\t--seq-lens 1k1k\n8k1k ", want: []string{"full-sweep", "--single-node", "--seq-lens", "1k1k", "8k1k"}},
		{in: `--model-prefix '$(touch pwned)'`, want: []string{"--model-prefix", "$(touch pwned)"}},
		{in: `--model-prefix $(touch pwned)`, want: []string{"--model-prefix", "$(touch", "pwned)"}},
		{in: `--x "; rm -rf /"`, want: []string{"--x", "; rm -rf /"}},
		{in: `a;b|c&d>e<f`, want: []string{"a;b|c&d>e<f"}},
		{in: "`id` $HOME ~ *", want: []string{"`id`", "$HOME", "~", "*"}},
		{in: `"a \"b\" \$c \\ \n"`, want: []string{`a "b" $c \ \n`}},
		{in: `'it'\''s'`, want: []string{"it's"}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `'' ""`, want: []string{"", ""}},
		{in: `x"y z"'w'`, want: []string{"xy zw"}},
		{in: `'unterminated`, wantErr: true},
		{in: `"unterminated`, wantErr: true},
		{in: `trailing\`, wantErr: true},
		{in: "é 日本", want: []string{"é", "日本"}},
	}
	for _, tt := range tests {
		got, err := SplitWords(tt.in)
		if !assert.Equal(t, tt.wantErr, err != nil, "SplitWords(%q) err = %v", tt.in, err) {
			continue
		}
		assert.Equal(t, tt.want, got, "SplitWords(%q)", tt.in)
	}
}

func FuzzSplitWords(f *testing.F) {
	f.Add(`a 'b c' "d \" e" f\ g`)
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitWords(s)
		if err != nil {
			return
		}
		// Re-quoting every word and splitting again must give the same words.
		var line string
		for _, w := range words {
			line += quoteAll(w) + " "
		}
		again, err := SplitWords(line)
		require.NoError(t, err, "round trip of %q", s)
		require.Equal(t, words, again, "round trip of %q", s)
	})
}

func quoteAll(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
