package engine

import (
	"io"
	"os"
	"strings"
)

// TailFile returns the last n lines of the file at path (at most 64 KiB are read), for
// error messages that must show what the engine said before it failed.
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(st.Size()-window, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogRedirect wraps argv so the program appends its stdout and stderr to logPath itself
// (through sh): the agent holds no pipe and no in-memory copy of an engine log that may grow
// for hours, both streams keep their relative order, and children that outlive the
// program do not keep the agent waiting on a pipe.
func LogRedirect(logPath string, argv []string) []string {
	return append([]string{"sh", "-c", `exec "$@" >>"$0" 2>&1`, logPath}, argv...)
}
