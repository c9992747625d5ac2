package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/procfs"
)

// listDaemon lists the given containers (filtered by the run label when asked) and records
// removals.
type listDaemon struct {
	mu         sync.Mutex
	containers []summary
	removed    []string
}

func (d *listDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch p := r.URL.Path; {
	case p == "/version":
		w.Write([]byte(`{"ApiVersion":"1.41"}`))
	case strings.HasSuffix(p, "/containers/json"):
		var f map[string][]string
		_ = json.Unmarshal([]byte(r.URL.Query().Get("filters")), &f)
		var out []summary
		for _, c := range d.containers {
			keep := true
			for _, l := range f["label"] {
				k, v, _ := strings.Cut(l, "=")
				keep = keep && c.Labels[k] == v
			}
			if keep {
				out = append(out, c)
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "DELETE":
		d.removed = append(d.removed, p[strings.LastIndexByte(p, '/')+1:])
		w.WriteHeader(204)
	default:
		w.WriteHeader(500)
	}
}

func serve(t *testing.T, h http.Handler) string {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

func ours(id, run, agent string) summary {
	l := map[string]string{engine.LabelOwner: engine.OwnerValue, engine.LabelRun: run}
	if agent != "" {
		l[engine.LabelAgent] = agent
	}
	return summary{ID: id, Names: []string{"/inferbench-" + run + "-" + id}, Labels: l, State: "running"}
}

// Two agents given the same --run-id: one's cleanup must not remove the other's container.
func TestHostile12ReusedRunIDCleanupSparesTheOtherAgent(t *testing.T) {
	t.Parallel()
	me, other := "vm:100:5:boot", "vm:200:6:boot"
	d := &listDaemon{containers: []summary{ours("mine", "shared", me), ours("theirs", "shared", other), ours("old", "shared", "")}}
	b := New(Config{Host: "unix://" + serve(t, d), Owner: me})

	require.NoError(t, b.Cleanup(context.Background(), "shared"))

	assert.Equal(t, []string{"mine"}, d.removed)
}

// Leftovers are removed only when their agent is provably gone: never a live agent's, one
// of another host, one without an owner record, or anything that is not ours.
func TestHostile09ReapOnlyLeftoversOfGoneAgents(t *testing.T) {
	t.Parallel()
	self := procfs.Host.Self()
	parent, err := procfs.Host.Read(os.Getppid())
	require.NoError(t, err)
	live := procfs.Owner{Host: self.Host, PID: parent.PID, Start: parent.StartTicks, Boot: self.Boot}
	exited := procfs.Owner{Host: self.Host, PID: 99_999_999, Start: 1, Boot: self.Boot}
	reused := procfs.Owner{Host: self.Host, PID: parent.PID, Start: parent.StartTicks + 1, Boot: self.Boot}
	rebooted := procfs.Owner{Host: self.Host, PID: parent.PID, Start: parent.StartTicks, Boot: "an-earlier-boot"}
	elsewhere := procfs.Owner{Host: "other-host", PID: 99_999_999, Start: 1, Boot: "x"}
	foreign := summary{ID: "not-ours", Labels: map[string]string{"com.example": "x"}}
	d := &listDaemon{containers: []summary{
		ours("self", "r0", self.String()), ours("live", "r1", live.String()), ours("exited", "r2", exited.String()),
		ours("reused", "r3", reused.String()), ours("rebooted", "r4", rebooted.String()),
		ours("elsewhere", "r5", elsewhere.String()), ours("unrecorded", "r6", ""), foreign,
	}}
	b := New(Config{Host: "unix://" + serve(t, d)})

	lines, err := b.Reap(context.Background(), self.String())

	require.NoError(t, err)
	sort.Strings(d.removed)
	assert.Equal(t, []string{"exited", "rebooted", "reused"}, d.removed)
	require.Len(t, lines, 3)
	joined := strings.Join(lines, "\n")
	assert.Contains(t, joined, "removed leftover container inferbench-r2-exited (run r2, running): its agent (pid 99999999) has exited")
	assert.Contains(t, joined, "its agent ran before this host rebooted")
	assert.Contains(t, joined, fmt.Sprintf("its agent (pid %d) has exited; the pid now belongs to", parent.PID))
}
