// Command artifactstub stands in for actions/upload-artifact and actions/download-artifact
// when the workflows run under nektos/act, which cannot fetch those actions (no network).
// It speaks the artifact v4 protocol (twirp JSON plus blob PUT/GET) to the server that act
// starts with --artifact-server-path, using the ACTIONS_RUNTIME_TOKEN and
// ACTIONS_RESULTS_URL that act gives every step. It is test tooling only: on GitHub the
// workflows use the real actions, pinned by commit.
//
//	artifactstub upload   -name NAME -path PATTERNS [-if-no-files-found warn|error|ignore]
//	artifactstub download [-name NAME | -pattern GLOB] -path DIR [-merge-multiple] [-run-id ID]
//
// PATTERNS is newline-separated, as the actions' `path` input; `**` matches directories.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: artifactstub upload|download [flags]")
		return 2
	}
	rt, err := runtimeFromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "artifactstub:", err)
		return 1
	}
	fs := flag.NewFlagSet("artifactstub "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "artifact name")
	path := fs.String("path", "", "files to upload (newline-separated patterns) or directory to download into")
	switch args[0] {
	case "upload":
		ifNone := fs.String("if-no-files-found", "warn", "warn, error or ignore")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = upload(ctx, rt, *name, *path, *ifNone, stdout)
	case "download":
		pattern := fs.String("pattern", "", "glob over artifact names")
		merge := fs.Bool("merge-multiple", false, "extract every artifact into -path itself")
		runID := fs.String("run-id", "", "download from this run instead of the current one")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = download(ctx, rt, *name, *pattern, *path, *runID, *merge, stdout)
	default:
		fmt.Fprintf(stderr, "artifactstub: unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "artifactstub:", err)
		return 1
	}
	return 0
}
