package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

func download(ctx context.Context, rt *runtime, name, pattern, dir, runID string, merge bool, out io.Writer) error {
	if dir == "" {
		dir = "."
	}
	if runID == "" {
		runID = rt.runID
	}
	var listed struct {
		Artifacts []struct {
			Name string `json:"name"`
		} `json:"artifacts"`
	}
	// Another run's artifacts, as download-artifact's run-id input reads them: act's server
	// keeps every run's artifacts under the run id.
	ids := map[string]any{"workflowRunBackendId": runID, "workflowJobRunBackendId": rt.jobID}
	if err := rt.call(ctx, "ListArtifacts", ids, &listed); err != nil {
		return err
	}
	n := 0
	for _, a := range listed.Artifacts {
		if !selected(a.Name, name, pattern) {
			continue
		}
		dest := dir
		if name == "" && !merge {
			dest = filepath.Join(dir, a.Name) // one directory per artifact, as download-artifact v4
		}
		if err := fetch(ctx, rt, ids, a.Name, dest); err != nil {
			return err
		}
		n++
	}
	if name != "" && n == 0 {
		return fmt.Errorf("artifact %s not found", name)
	}
	fmt.Fprintf(out, "downloaded %d artifacts into %s\n", n, dir)
	return nil
}

func selected(artifact, name, pattern string) bool {
	if name != "" {
		return artifact == name
	}
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, artifact)
	return err == nil && ok
}

func fetch(ctx context.Context, rt *runtime, ids map[string]any, name, dest string) error {
	var signed struct {
		SignedURL string `json:"signedUrl"`
	}
	if err := rt.call(ctx, "GetSignedArtifactURL", with(ids, "name", name), &signed); err != nil {
		return err
	}
	data, err := rt.blob(ctx, "GET", signed.SignedURL, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	return unzip(data, dest)
}

// unzip extracts an archive below dest, refusing names that would escape it.
func unzip(data []byte, dest string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("artifact is not a zip: %w", err)
	}
	for _, f := range zr.File {
		target := filepath.Join(dest, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(target, filepath.Clean(dest)+string(filepath.Separator)) {
			return fmt.Errorf("zip entry %q escapes %s", f.Name, dest)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
