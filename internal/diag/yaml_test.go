package diag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// YAMLSyntaxLine gives the 1-based line of the construct at fault for scanner and
// parser errors alike (yaml.v3 prints parser errors' lines 0-based).
func TestYAMLSyntaxLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"unclosed flow sequence on line 3", "a: 1\nb: 2\nc: [1, 2\nd: 4\n", 3, "did not find expected ',' or ']'"},
		{"unclosed flow sequence in a list item", "- k: v\n  p: q\n- c: [x\n  d: [y]\n", 3, "did not find expected ',' or ']'"},
		{"bad indentation (parser)", "a:\n  b: 1\n c: 2\n", 3, "did not find expected key"},
		{"error on line 1 has no line", "a: b: c\n", 0, "mapping values are not allowed in this context"},
		{"tab (scanner)", "a:\n\tb: 1\n", 2, "found character that cannot start any token"},
		{"mapping value in a scalar (scanner)", "a: 1\nb: c: d\n", 2, "mapping values are not allowed in this context"},
		{"unclosed quote (scanner)", "a: 1\nb: \"x\n", 2, "found unexpected end of stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tt.text), &n)
			require.Error(t, err, "no error")
			line, msg := YAMLSyntaxLine(err)
			assert.Equal(t, tt.line, line, "YAMLSyntaxLine(%q)", err)
			assert.Equal(t, tt.msg, msg, "YAMLSyntaxLine(%q)", err)
		})
	}
}
