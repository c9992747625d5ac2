// Package readiness decides when an engine really serves: its health endpoint answers 2xx
// and a one-token completion succeeds, all under a deadline. It fails fast when the server
// exits or its log shows a fatal line, and keeps watching both during the load.
package readiness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
)

// Server is what readiness watches: the backend's view of the running engine.
type Server interface {
	Done() <-chan struct{}
	// ExitString describes how the server ended (valid after Done).
	ExitString() string
	LogPath() string
}

// Config says how to probe.
type Config struct {
	BaseURL  string // http://host:port
	Health   string // /health
	Endpoint string // /v1/completions or /v1/chat/completions
	Model    string
	// Deadline bounds the whole wait.
	Deadline time.Duration
	// Interval between probes; zero means 1s.
	Interval time.Duration
	// Fatal are log patterns that mean the engine will never be ready.
	Fatal []*regexp.Regexp
	// LogFrom is the log offset where this launch's output starts (earlier launches of the
	// same run append to the same file).
	LogFrom int64
	// Client is the HTTP client; nil uses one with a 10s timeout per request.
	Client *http.Client
	// Progress receives one line per phase; nil discards.
	Progress io.Writer
}

// Cause classifies a readiness or watch failure.
type Cause string

// Failure causes.
const (
	CauseExited   Cause = "engine exited"
	CauseFatalLog Cause = "fatal line in engine log"
	CauseDeadline Cause = "engine not ready before the deadline"
	CauseProbe    Cause = "one-token probe failed"
)

// Error is a failure with the engine's last words attached.
type Error struct {
	Cause   Cause
	Detail  string
	LogTail string
}

func (e *Error) Error() string {
	s := string(e.Cause)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.LogTail != "" {
		s += "\nlast lines of the server log:\n" + indent(e.LogTail)
	}
	return s
}

func indent(s string) string {
	return "  | " + strings.ReplaceAll(s, "\n", "\n  | ")
}

// TailLines is how many log lines errors carry.
const TailLines = 20

// Wait blocks until the server is ready, the deadline passes, the server dies or ctx ends.
func Wait(ctx context.Context, srv Server, cfg Config) error {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	scan := NewLogScanner(srv.LogPath(), cfg.Fatal)
	scan.off = cfg.LogFrom
	// start is taken before the deadline's context: its deadline is then never earlier than
	// start + Deadline, so that when it fires the check below knows it was ours (taken
	// after, a deadline that fired a few microseconds early read as the caller's and came
	// back as a bare context error instead of a readiness failure).
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Deadline)
	defer cancel()
	healthy := false
	var lastErr error
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		if line := scan.Scan(); line != "" {
			return &Error{Cause: CauseFatalLog, Detail: line, LogTail: tail(srv)}
		}
		select {
		case <-srv.Done():
			return &Error{Cause: CauseExited, Detail: srv.ExitString() + " during startup", LogTail: tail(srv)}
		default:
		}
		if !healthy {
			if lastErr = get(ctx, cfg.Client, cfg.BaseURL+cfg.Health); lastErr == nil {
				healthy = true
				fmt.Fprintf(cfg.Progress, "readiness: %s answered after %s; sending a one-token probe\n", cfg.Health, time.Since(start).Round(time.Millisecond))
			}
		}
		if healthy {
			if lastErr = probe(ctx, cfg); lastErr == nil {
				fmt.Fprintf(cfg.Progress, "readiness: ready after %s\n", time.Since(start).Round(time.Millisecond))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded && time.Since(start) >= cfg.Deadline {
				d := fmt.Sprintf("waited %s (recipe ready-timeout)", cfg.Deadline)
				if lastErr != nil {
					d += "; last attempt: " + lastErr.Error()
				}
				cause := CauseDeadline
				if healthy {
					cause = CauseProbe
				}
				return &Error{Cause: cause, Detail: d, LogTail: tail(srv)}
			}
			return ctx.Err()
		case <-srv.Done():
		case <-tick.C:
		}
	}
}

func tail(srv Server) string {
	return TailFile(srv.LogPath(), TailLines)
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// probe asks for exactly one token: the server is ready only when a real request works.
func probe(ctx context.Context, cfg Config) error {
	body := map[string]any{"model": cfg.Model, "max_tokens": 1, "stream": false}
	if strings.Contains(cfg.Endpoint, "chat") {
		body["messages"] = []map[string]string{{"role": "user", "content": "Hello"}}
	} else {
		body["prompt"] = "Hello"
	}
	b, _ := json.Marshal(body)
	url := cfg.BaseURL + cfg.Endpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(rb)))
	}
	var r struct {
		Choices []json.RawMessage `json:"choices"`
	}
	if err := json.Unmarshal(rb, &r); err != nil || len(r.Choices) == 0 {
		return fmt.Errorf("POST %s: answer has no choices: %.200s", url, rb)
	}
	return nil
}

// Watch reports the first sign of the server failing while the load runs: it exited, or a
// fatal line appeared in its log. The channel gets at most one error and is closed when
// ctx ends.
func Watch(ctx context.Context, srv Server, fatal []*regexp.Regexp, interval time.Duration) <-chan error {
	if interval == 0 {
		interval = 500 * time.Millisecond
	}
	ch := make(chan error, 1)
	scan := NewLogScanner(srv.LogPath(), fatal)
	scan.SkipExisting()
	go func() {
		defer close(ch)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-srv.Done():
				ch <- &Error{Cause: CauseExited, Detail: srv.ExitString() + " during the load", LogTail: tail(srv)}
				return
			case <-t.C:
				if line := scan.Scan(); line != "" {
					ch <- &Error{Cause: CauseFatalLog, Detail: line, LogTail: tail(srv)}
					return
				}
			}
		}
	}()
	return ch
}

// LogScanner reads a growing log file incrementally and reports the first line matching
// any fatal pattern.
type LogScanner struct {
	path    string
	fatal   []*regexp.Regexp
	off     int64
	partial []byte
}

// NewLogScanner scans path from its beginning.
func NewLogScanner(path string, fatal []*regexp.Regexp) *LogScanner {
	return &LogScanner{path: path, fatal: fatal}
}

// SkipExisting moves past what the file holds now (earlier launches' output).
func (s *LogScanner) SkipExisting() {
	if st, err := os.Stat(s.path); err == nil {
		s.off = st.Size()
	}
}

// Scan returns the first new fatal line, or "".
func (s *LogScanner) Scan() string {
	if len(s.fatal) == 0 {
		return ""
	}
	f, err := os.Open(s.path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(s.off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 8<<20))
	s.off += int64(len(b))
	data := append(s.partial, b...)
	last := bytes.LastIndexByte(data, '\n')
	if last < 0 {
		s.partial = data
		return ""
	}
	s.partial = append([]byte(nil), data[last+1:]...)
	for _, line := range strings.Split(string(data[:last]), "\n") {
		for _, re := range s.fatal {
			if re.MatchString(line) {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

// tailWindow bounds what TailFile reads: an engine log can grow to gigabytes over hours,
// and its last lines are all an error message needs.
const tailWindow = 64 << 10

// TailFile returns the last n lines of the file at path, reading only its last 64 KiB, for
// error messages and status records that show what the engine said before it failed. A
// line cut by the window's start is left out; "" when the file is missing or empty.
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	cut := false
	if st, err := f.Stat(); err == nil && st.Size() > tailWindow {
		if _, err := f.Seek(st.Size()-tailWindow, io.SeekStart); err == nil {
			cut = true
		}
	}
	b, _ := io.ReadAll(io.LimitReader(f, tailWindow))
	s := strings.TrimRight(string(b), "\n")
	if cut {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	if s == "" || n <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
