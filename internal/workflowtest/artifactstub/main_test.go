package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// fakeService is an in-memory artifact v4 service with act's semantics: blocks append to
// the artifact, the block list commits it, and names list in upload order.
type fakeService struct {
	mu    sync.Mutex
	blobs map[string]*bytes.Buffer
	order []string
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPut || r.Method == http.MethodGet {
		name := r.URL.Query().Get("artifactName")
		if r.Method == http.MethodGet {
			_, _ = w.Write(f.blobs[name].Bytes())
			return
		}
		if r.URL.Query().Get("comp") == "block" {
			_, _ = io.Copy(f.blobs[name], r.Body)
		}
		w.WriteHeader(http.StatusCreated)
		return
	}
	var req map[string]any
	_ = json.NewDecoder(r.Body).Decode(&req)
	name, _ := req["name"].(string)
	signed := "http://" + r.Host + "/blob?artifactName=" + name
	var resp any
	switch filepath.Base(r.URL.Path) {
	case "CreateArtifact":
		f.blobs[name] = &bytes.Buffer{}
		f.order = append(f.order, name)
		resp = map[string]any{"ok": true, "signedUploadUrl": signed}
	case "FinalizeArtifact":
		resp = map[string]any{"ok": true, "artifactId": "1"}
	case "ListArtifacts":
		var list []map[string]any
		for _, n := range f.order {
			list = append(list, map[string]any{"name": n})
		}
		resp = map[string]any{"artifacts": list}
	case "GetSignedArtifactURL":
		resp = map[string]any{"signedUrl": signed}
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func testEnv(url string) func(string) string {
	claims, _ := json.Marshal(map[string]string{"scp": "Actions.GenericRead Actions.Results:7:9"})
	tok := "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	return func(k string) string {
		return map[string]string{"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_RESULTS_URL": url + "/"}[k]
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// TestRoundTrip uploads two artifacts the way benchmark.yml does and downloads them the
// way collect.yml does: one directory per artifact, names relative to the common parent.
func TestRoundTrip(t *testing.T) {
	srv := httptest.NewServer(&fakeService{blobs: map[string]*bytes.Buffer{}})
	defer srv.Close()
	getenv := testEnv(srv.URL)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "results", "agg_a.json"), `{"a":1}`)
	write(t, filepath.Join(dir, "results", "manifest_a.json"), `{"status":"success"}`)
	write(t, filepath.Join(dir, "results", "p1", "server.log"), "log")
	var out, errOut bytes.Buffer
	ctx := context.Background()
	up := func(name, paths string) {
		code := run(ctx, []string{"upload", "-name", name, "-path", paths, "-if-no-files-found", "error"}, getenv, &out, &errOut)
		require.Equal(t, 0, code, "upload %s: exit %d: %s", name, code, errOut.String())
	}
	up("bmk_a", filepath.Join(dir, "results", "agg_a*.json")+"\n"+filepath.Join(dir, "results", "manifest_a*.json"))
	up("server_logs_a", filepath.Join(dir, "results", "**", "server*.log"))
	assert.NotEqual(t, 0, run(ctx, []string{"upload", "-name", "none", "-path", filepath.Join(dir, "nothing*"), "-if-no-files-found", "error"}, getenv, &out, &errOut), "upload of no files with -if-no-files-found error succeeded")

	dest := filepath.Join(dir, "dl")
	code := run(ctx, []string{"download", "-pattern", "bmk_*", "-path", dest}, getenv, &out, &errOut)
	require.Equal(t, 0, code, "download: exit %d: %s", code, errOut.String())
	for _, f := range []string{"bmk_a/agg_a.json", "bmk_a/manifest_a.json"} {
		_, err := os.Stat(filepath.Join(dest, f))
		assert.NoError(t, err, "downloaded tree lacks %s", f)
	}
	_, err := os.Stat(filepath.Join(dest, "server_logs_a"))
	assert.Error(t, err, "pattern bmk_* also downloaded server_logs_a")
	one := filepath.Join(dir, "one")
	code = run(ctx, []string{"download", "-name", "server_logs_a", "-path", one}, getenv, &out, &errOut)
	require.Equal(t, 0, code, "download by name: exit %d: %s", code, errOut.String())
	b, err := os.ReadFile(filepath.Join(one, "p1", "server.log"))
	assert.NoError(t, err, "server.log by name")
	assert.Equal(t, "log", string(b), "server.log by name")
}

func TestRuntimeFromEnvErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		what string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, "must be set"},
		{"not a JWT", map[string]string{"ACTIONS_RUNTIME_TOKEN": "abc", "ACTIONS_RESULTS_URL": "http://x"}, "not a JWT"},
		{"no results scope", map[string]string{"ACTIONS_RUNTIME_TOKEN": "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"scp":"Actions.GenericRead"}`)) + ".s", "ACTIONS_RESULTS_URL": "http://x"}, "no Actions.Results"},
	} {
		_, err := runtimeFromEnv(func(k string) string { return tc.env[k] })
		assert.ErrorContains(t, err, tc.want, "%s: err = %v, want it to mention %q", tc.what, err, tc.want)
	}
}

func TestUnzipRefusesEscapes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, newZip(&buf, "../evil", "x"))
	err := unzip(buf.Bytes(), t.TempDir())
	assert.ErrorContains(t, err, "escapes", "unzip of ../evil: err = %v, want an escape error", err)
}
