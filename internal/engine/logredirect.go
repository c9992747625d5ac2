package engine

// LogRedirect wraps argv so the program appends its stdout and stderr to logPath itself
// (through sh): the agent holds no pipe and no in-memory copy of an engine log that may grow
// for hours, both streams keep their relative order, and children that outlive the
// program do not keep the agent waiting on a pipe.
func LogRedirect(logPath string, argv []string) []string {
	return append([]string{"sh", "-c", `exec "$@" >>"$0" 2>&1`, logPath}, argv...)
}
