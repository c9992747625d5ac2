package disagg

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpandNodeList(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		list string
		want []string
	}{
		{"vm", []string{"vm"}},
		{"a,b", []string{"a", "b"}},
		{"gb200-[01-04,07],x", []string{"gb200-01", "gb200-02", "gb200-03", "gb200-04", "gb200-07", "x"}},
		{"n[8-11]", []string{"n8", "n9", "n10", "n11"}},
		{"n[098-101]", []string{"n098", "n099", "n100", "n101"}},
		{"rack[1-2]-gpu[1,3]", []string{"rack1-gpu1", "rack1-gpu3", "rack2-gpu1", "rack2-gpu3"}},
		{"a[1],b[2-3]", []string{"a1", "b2", "b3"}},
		{"10.0.0.[1-2]", []string{"10.0.0.1", "10.0.0.2"}},
	} {
		got, err := ExpandNodeList(tt.list)
		require.NoError(t, err, tt.list)
		assert.Equal(t, tt.want, got, tt.list)
	}
}

func TestExpandNodeListRejectsBadLists(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ list, want string }{
		{"", "empty node list"},
		{"a,,b", "empty entry"},
		{"a,", "empty entry"},
		{"n[1-3", "'[' without ']'"},
		{"n1-3]", "']' without '['"},
		{"n[]", "empty brackets"},
		{"n[3-1]", "runs backwards"},
		{"n[a-b]", "not a number"},
		{"n[1-x]", "not a range"},
		{"n[[1]]", "nested"},
		{"n[0-99999999]", "more than"},
	} {
		_, err := ExpandNodeList(tt.list)
		require.Error(t, err, tt.list)
		assert.Contains(t, err.Error(), tt.want, tt.list)
	}
}
