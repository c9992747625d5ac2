package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
)

// execDaemon mimics the Engine API's exec endpoints as dockerd answers them: create returns
// an id, start (Detach false, no TTY, no Upgrade header) hijacks the connection and writes a
// bare HTTP/1.1 200 head followed by the multiplexed stream until the process ends, inspect
// reports Running and ExitCode, the first inspects of a slow daemon still saying running.
type execDaemon struct {
	t        *testing.T
	frames   []byte
	code     int
	stillRun int // inspects answering Running: true before the exit shows
	noSuch   bool

	mu      sync.Mutex
	create  map[string]any
	start   map[string]any
	inspect int
}

func (d *execDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/version":
		w.Write([]byte(`{"ApiVersion":"1.43","Version":"24.0.7"}`))
	case p == "/v1.43/containers/c1/exec" && r.Method == "POST":
		if d.noSuch {
			w.WriteHeader(409)
			w.Write([]byte(`{"message":"Container c1 is not running"}`))
			return
		}
		d.mu.Lock()
		json.NewDecoder(r.Body).Decode(&d.create)
		d.mu.Unlock()
		w.WriteHeader(201)
		w.Write([]byte(`{"Id":"e1"}`))
	case p == "/v1.43/exec/e1/start" && r.Method == "POST":
		d.mu.Lock()
		json.NewDecoder(r.Body).Decode(&d.start)
		d.mu.Unlock()
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(d.t, err) {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n")
		buf.Write(d.frames)
		buf.Flush()
	case p == "/v1.43/exec/e1/json":
		d.mu.Lock()
		d.inspect++
		running := d.inspect <= d.stillRun
		d.mu.Unlock()
		if running {
			w.Write([]byte(`{"Running":true,"ExitCode":null}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Running": false, "ExitCode": d.code})
	default:
		w.WriteHeader(404)
		w.Write([]byte(`{"message":"page not found"}`))
	}
}

func execContainer(t *testing.T, d *execDaemon) *container {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(d)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &container{b: New(Config{Host: "unix://" + sock}), id: "c1", Handle: engine.NewHandle(engine.Spec{Name: "inferbench-r-1", Workdir: "/workspace"})}
}

func TestExec(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 70000) // larger than one read buffer, split over frames
	for _, tc := range []struct {
		name       string
		d          *execDaemon
		wantOut    string
		wantErrOut string
		wantCode   int
		wantErr    string
	}{
		{name: "interleaved streams", d: &execDaemon{frames: cat(frame(1, "results in "), frame(2, "warn\n"), frame(1, "/workspace/x\n"))},
			wantOut: "results in /workspace/x\n", wantErrOut: "warn\n"},
		{name: "non-zero exit is a code, not an error", d: &execDaemon{frames: frame(2, "boom\n"), code: 3}, wantErrOut: "boom\n", wantCode: 3},
		{name: "exit recorded after the stream ends", d: &execDaemon{frames: frame(1, "ok"), stillRun: 2, code: 0}, wantOut: "ok"},
		{name: "large output", d: &execDaemon{frames: cat(frame(1, big[:40000]), frame(1, big[40000:]))}, wantOut: big},
		{name: "no output", d: &execDaemon{code: 0}},
		{name: "container gone", d: &execDaemon{noSuch: true}, wantErr: "Container c1 is not running", wantCode: -1},
		{name: "truncated frame keeps what came", d: &execDaemon{frames: frame(1, "cut")[:9]}, wantOut: "c", wantErr: "stream frame", wantCode: -1},
		{name: "not multiplexed", d: &execDaemon{frames: []byte("plain text output, a TTY stream")}, wantErr: "not a multiplexed stream", wantCode: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			d.t = t
			c := execContainer(t, d)
			res, err := c.Exec(context.Background(), []string{"/agent", "eval", "--limit", "8"}, []string{"OPENAI_API_KEY=k"})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantOut, string(res.Stdout), "stdout %d bytes", len(res.Stdout))
			assert.Equal(t, tc.wantErrOut, string(res.Stderr), "stdout %d bytes", len(res.Stdout))
			assert.Equal(t, tc.wantCode, res.ExitCode, "stdout %d bytes", len(res.Stdout))
			if tc.d.noSuch {
				return
			}
			cb, _ := json.Marshal(d.create)
			for _, want := range []string{`"AttachStdout":true`, `"AttachStderr":true`, `"Tty":false`,
				`"Cmd":["/agent","eval","--limit","8"]`, `"Env":["OPENAI_API_KEY=k"]`, `"WorkingDir":"/workspace"`} {
				assert.Contains(t, string(cb), want, "exec create body")
			}
			assert.Equal(t, false, d.start["Detach"], "exec start body")
			assert.Equal(t, false, d.start["Tty"], "exec start body")
		})
	}
}

func TestExecEmptyCommand(t *testing.T) {
	t.Parallel()
	c := &container{b: New(Config{Host: "unix:///nonexistent"}), id: "c1"}
	_, err := c.Exec(context.Background(), nil, nil)
	require.Error(t, err, "empty argv accepted")
}

func TestDemuxSplit(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	in := cat(frame(1, "a"), frame(0, "ignored"), frame(2, "b"), frame(1, "c"))
	assert.NoError(t, demuxSplit(&out, &errb, bytes.NewReader(in)))
	assert.Equal(t, "ac", out.String())
	assert.Equal(t, "b", errb.String())
	assert.Error(t, demuxSplit(&out, &errb, bytes.NewReader(frame(1, "x")[:5])), "a cut header passed")
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
