package limits

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNameProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, want string }{
		{"dsr1", ""},
		{"qwen3.5_tp8=x-y", ""},
		{"../../x", `has '/' at byte 2`},
		{"..", "starts with a dot"},
		{".hidden", "starts with a dot"},
		{"a..b", `contains ".."`},
		{"a b", `has ' ' at byte 1`},
		{"é", `has 'é' at byte 0`},
		{"a\x00", `has '\x00' at byte 1`},
	} {
		assert.Equal(t, tc.want, NameProblem(tc.name), "%q", tc.name)
	}
}
