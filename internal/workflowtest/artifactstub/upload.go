package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

func upload(ctx context.Context, rt *runtime, name, patterns, ifNone string, out io.Writer) error {
	if name == "" {
		return fmt.Errorf("upload: -name is required")
	}
	files, roots, err := matchFiles(patterns)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		switch ifNone {
		case "error":
			return fmt.Errorf("upload %s: no files found with the provided path: %s", name, patterns)
		case "ignore":
		default:
			fmt.Fprintf(out, "::warning::No files were found with the provided path: %s. No artifacts will be uploaded.\n", patterns)
		}
		return nil
	}
	zipped, err := zipFiles(files, commonRoot(roots))
	if err != nil {
		return err
	}
	var created struct {
		Ok              bool   `json:"ok"`
		SignedUploadURL string `json:"signedUploadUrl"`
	}
	ids := map[string]any{"workflowRunBackendId": rt.runID, "workflowJobRunBackendId": rt.jobID}
	if err := rt.call(ctx, "CreateArtifact", with(ids, "name", name, "version", 4), &created); err != nil {
		return err
	}
	// Put Block + Put Block List: act stores nothing for a single-shot Put Blob.
	if _, err := rt.blob(ctx, "PUT", created.SignedUploadURL+"&comp=block&blockid=YmxvY2sx", zipped); err != nil {
		return err
	}
	list := []byte(`<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>YmxvY2sx</Latest></BlockList>`)
	if _, err := rt.blob(ctx, "PUT", created.SignedUploadURL+"&comp=blocklist", list); err != nil {
		return err
	}
	sum := sha256.Sum256(zipped)
	var fin struct {
		Ok         bool   `json:"ok"`
		ArtifactID string `json:"artifactId"`
	}
	req := with(ids, "name", name, "size", strconv.Itoa(len(zipped)), "hash", "sha256:"+hex.EncodeToString(sum[:]))
	if err := rt.call(ctx, "FinalizeArtifact", req, &fin); err != nil {
		return err
	}
	fmt.Fprintf(out, "uploaded artifact %s (%d files, %d bytes)\n", name, len(files), len(zipped))
	return nil
}

func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// matchFiles expands newline-separated patterns (doublestar globs or plain paths; a
// directory means everything below it) into absolute file paths, sorted and unique, and
// returns each pattern's search root (the directory before its first wildcard).
func matchFiles(patterns string) (files, roots []string, err error) {
	set := map[string]bool{}
	for _, p := range strings.Split(patterns, "\n") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		root, err := searchRoot(p)
		if err != nil {
			return nil, nil, err
		}
		roots = append(roots, root)
		matches, err := doublestar.FilepathGlob(p)
		if err != nil {
			return nil, nil, fmt.Errorf("path pattern %q: %w", p, err)
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(path string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					abs, aerr := filepath.Abs(path)
					set[abs] = aerr == nil
				}
				return err
			})
			if err != nil {
				return nil, nil, err
			}
		}
	}
	for f, ok := range set {
		if ok {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files, roots, nil
}

// searchRoot is where a pattern's search starts: the directory before the first wildcard,
// a directory itself, or a file's directory (actions/upload-artifact's rule).
func searchRoot(pattern string) (string, error) {
	abs, err := filepath.Abs(pattern)
	if err != nil {
		return "", err
	}
	if i := strings.IndexAny(abs, "*?[{"); i >= 0 {
		return filepath.Dir(abs[:i] + "x"), nil
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return abs, nil
	}
	return filepath.Dir(abs), nil
}

// commonRoot is the least common ancestor of the search roots.
func commonRoot(roots []string) string {
	root := roots[0]
	for _, r := range roots[1:] {
		for r != root && !strings.HasPrefix(r, root+string(filepath.Separator)) {
			root = filepath.Dir(root)
		}
	}
	return root
}

// zipFiles zips files with names relative to root, as actions/upload-artifact does.
func zipFiles(files []string, root string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
