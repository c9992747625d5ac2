package diag

import (
	"regexp"
	"strconv"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of gopkg.in/yaml.v3's parser (parserc.go), as
// opposed to its scanner. For parser errors yaml.v3 prints the 0-based line of the mark
// (go-yaml/yaml issue 205), so these need one added; scanner errors are already 1-based.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// YAMLSyntaxLine splits a gopkg.in/yaml.v3 syntax error into its 1-based line (0 when
// the error names none) and its message without the "yaml: line N: " prefix. yaml.v3
// reports no column for syntax errors.
func YAMLSyntaxLine(err error) (line int, msg string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		msg = err.Error()
		if len(msg) > 6 && msg[:6] == "yaml: " {
			msg = msg[6:]
		}
		return 0, msg
	}
	line, _ = strconv.Atoi(m[1])
	if yamlParserProblems[m[2]] {
		line++
	}
	return line, m[2]
}
