package readiness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// fakeServer is a server process as readiness sees it.
type fakeServer struct {
	done chan struct{}
	log  string
}

func newFake(t *testing.T, log string) *fakeServer {
	p := filepath.Join(t.TempDir(), "server.log")
	require.NoError(t, os.WriteFile(p, []byte(log), 0o644))
	return &fakeServer{done: make(chan struct{}), log: p}
}

func (f *fakeServer) Done() <-chan struct{} { return f.done }
func (f *fakeServer) ExitString() string    { return "exit status 9" }
func (f *fakeServer) LogPath() string       { return f.log }

func (f *fakeServer) appendLog(t *testing.T, s string) {
	fh, err := os.OpenFile(f.log, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	fh.WriteString(s)
	fh.Close()
}

// engine answers /health with 503 until healthyAfter requests, then 200; the completion
// probe answers with probeStatus.
func engine(t *testing.T, healthyAfter int32, probeStatus int) (*httptest.Server, *atomic.Int32) {
	var n, probes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			if n.Add(1) <= healthyAfter {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/v1/completions":
			probes.Add(1)
			w.WriteHeader(probeStatus)
			w.Write([]byte(`{"choices":[{"text":"a"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &probes
}

func cfg(url string) Config {
	return Config{BaseURL: url, Health: "/health", Endpoint: "/v1/completions", Model: "m", Deadline: 500 * time.Millisecond,
		Interval: 20 * time.Millisecond, Fatal: []*regexp.Regexp{regexp.MustCompile(`CUDA out of memory`)}}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name         string
		healthyAfter int32
		probe        int
		log          string
		exit         bool
		wantCause    Cause
		wantTail     string
		// deadline of the wait; rows that must not reach it get a minute, so that a busy
		// machine cannot turn their outcome into a deadline
		deadline time.Duration
	}{
		{name: "ready after 503s", healthyAfter: 3, probe: 200, deadline: time.Minute},
		{name: "probe keeps failing", probe: 500, wantCause: CauseProbe, wantTail: "warming up", deadline: 500 * time.Millisecond},
		{name: "health never answers", healthyAfter: 1 << 30, probe: 200, wantCause: CauseDeadline, deadline: 500 * time.Millisecond},
		{name: "fatal log line", healthyAfter: 1 << 30, probe: 200, log: "loading\ntorch.OutOfMemoryError: CUDA out of memory\n", wantCause: CauseFatalLog, wantTail: "loading", deadline: time.Minute},
		{name: "process exited", healthyAfter: 1 << 30, probe: 200, exit: true, wantCause: CauseExited, wantTail: "warming up", deadline: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := engine(t, tt.healthyAfter, tt.probe)
			log := tt.log
			if log == "" {
				log = "warming up\n"
			}
			fs := newFake(t, log)
			if tt.exit {
				close(fs.done)
			}
			c := cfg(srv.URL)
			c.Deadline = tt.deadline
			start := time.Now()
			err := Wait(context.Background(), fs, c)
			took := time.Since(start)
			var re *Error
			if tt.wantCause == "" {
				require.NoError(t, err)
			} else {
				require.ErrorAs(t, err, &re)
				require.Equal(t, tt.wantCause, re.Cause, "err = %v", err)
			}
			assert.False(t, re != nil && !strings.Contains(re.Error(), tt.wantTail), "error %q lacks the log tail %q", re, tt.wantTail)
			if tt.wantCause == CauseFatalLog || tt.wantCause == CauseExited {
				t.Run("timing", func(t *testing.T) {
					testkit.Stress(t)
					assert.LessOrEqual(t, took, 300*time.Millisecond, "did not fail fast")
				})
			}
		})
	}
}

func TestWaitIgnoresEarlierLaunchesLog(t *testing.T) {
	t.Parallel()
	srv, _ := engine(t, 0, 200)
	old := "==== launch 1\nCUDA out of memory\n"
	fs := newFake(t, old+"==== launch 2\n")
	c := cfg(srv.URL)
	c.LogFrom = int64(len(old))
	require.NoError(t, Wait(context.Background(), fs, c), "a fatal line of an earlier launch failed this one")
}

func TestWaitHonoursCancel(t *testing.T) {
	srv, _ := engine(t, 1<<30, 200)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	c := cfg(srv.URL)
	c.Deadline = time.Minute // the cancel, not the deadline, must end the wait on a busy machine too
	require.ErrorIs(t, Wait(ctx, newFake(t, ""), c), context.Canceled)
}

func TestProbeChat(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 512)
		n, _ := r.Body.Read(b)
		body = string(b[:n])
		w.Write([]byte(`{"choices":[{"message":{"content":"a"}}]}`))
	}))
	defer srv.Close()
	c := cfg(srv.URL)
	c.Endpoint = "/v1/chat/completions"
	c.Client = srv.Client()
	require.NoError(t, probe(context.Background(), c))
	assert.Contains(t, body, `"messages"`, "probe")
	assert.Contains(t, body, `"max_tokens":1`, "probe")
}

func TestWatch(t *testing.T) {
	t.Run("exit", func(t *testing.T) {
		fs := newFake(t, "serving\n")
		ch := Watch(context.Background(), fs, nil, 10*time.Millisecond)
		close(fs.done)
		var re *Error
		require.ErrorAs(t, <-ch, &re)
		require.Equal(t, CauseExited, re.Cause)
		require.Contains(t, re.Detail, "during the load")
	})
	t.Run("fatal line after start", func(t *testing.T) {
		fs := newFake(t, "old CUDA out of memory\n")
		ch := Watch(context.Background(), fs, cfg("").Fatal, 10*time.Millisecond)
		fs.appendLog(t, "step 10\nRuntimeError: CUDA out of memory\n")
		var re *Error
		require.ErrorAs(t, <-ch, &re)
		require.Equal(t, CauseFatalLog, re.Cause)
		require.Equal(t, "RuntimeError: CUDA out of memory", re.Detail)
	})
	t.Run("quiet until cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ch := Watch(ctx, newFake(t, ""), nil, 10*time.Millisecond)
		time.Sleep(50 * time.Millisecond)
		cancel()
		err, ok := <-ch
		require.False(t, ok, "got %v", err)
	})
}

func TestLogScannerPartialLines(t *testing.T) {
	t.Parallel()
	fs := newFake(t, "CUDA out of")
	s := NewLogScanner(fs.log, cfg("").Fatal)
	require.Empty(t, s.Scan(), "matched a partial line")
	fs.appendLog(t, " memory\n")
	require.Equal(t, "CUDA out of memory", s.Scan())
}

func TestTailFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	long := strings.Repeat("x", tailWindow) + "\nlast but one\nlast\n"
	for _, tc := range []struct {
		name, path string
		n          int
		want       string
	}{
		{"missing file", filepath.Join(dir, "none"), 3, ""},
		{"empty file", write("empty", ""), 3, ""},
		{"fewer lines than asked", write("short", "a\nb\n"), 3, "a\nb"},
		{"the last n lines", write("more", "a\nb\nc\nd"), 2, "c\nd"},
		{"a line cut by the window is left out", write("long", long), 3, "last but one\nlast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, TailFile(tc.path, tc.n))
		})
	}
}

// TestTailFileReadsOnlyTheEnd: an engine log of hours is not read into memory to show its
// last lines. Not parallel: it measures the process's allocations.
func TestTailFileReadsOnlyTheEnd(t *testing.T) {
	p := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(256<<20)) // sparse: takes no disk
	_, err = f.WriteAt([]byte("\nRuntimeError: CUDA out of memory\n"), 256<<20)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := TailFile(p, 1)
	runtime.ReadMemStats(&after)
	assert.Equal(t, "RuntimeError: CUDA out of memory", got)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "TailFile read more than its window")
}
