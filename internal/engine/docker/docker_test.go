package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

func frame(stream byte, s string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func TestDemux(t *testing.T) {
	t.Parallel()
	in := append(append(frame(1, "out line\n"), frame(2, "err line\n")...), frame(1, "tail")...)
	var out bytes.Buffer
	require.NoError(t, demux(&out, bytes.NewReader(in)))
	assert.Equal(t, "out line\nerr line\ntail", out.String())
}

func TestImageRef(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "nvcr.io/nvidia/tensorrt-llm/release:1.2.0", ImageRef("nvcr.io#nvidia/tensorrt-llm/release:1.2.0"))
}

func TestCreateBody(t *testing.T) {
	t.Parallel()
	s := engine.Spec{Name: "inferbench-r-1", RunID: "r", Argv: []string{"python3", "-m", "sglang.launch_server"},
		Env: []string{"A=1"}, Workdir: "/workspace", GPUs: 8, GPUVendor: "nvidia", ShmSize: 16 << 30, IPCHost: true,
		Mounts:  []engine.Mount{{Host: "/out", Container: "/workspace"}, {Host: "/hf", Container: "/mnt/hf", ReadOnly: true}},
		Ulimits: []engine.Ulimit{{Name: "memlock", Soft: -1, Hard: -1}}}
	b, _ := json.Marshal(createBody(s, "img:1"))
	for _, want := range []string{
		`"Entrypoint":["python3"]`, `"Cmd":["-m","sglang.launch_server"]`, `"NetworkMode":"host"`, `"IpcMode":"host"`,
		`"ShmSize":17179869184`, `"Binds":["/out:/workspace","/hf:/mnt/hf:ro"]`,
		`"DeviceRequests":[{"Capabilities":[["gpu"]],"Count":-1,"Driver":"nvidia"}]`,
		`"io.inferbench.owner":"inferbench-agent"`, `"io.inferbench.run":"r"`, `"WorkingDir":"/workspace"`,
		`{"Hard":-1,"Name":"memlock","Soft":-1}`,
	} {
		assert.Contains(t, string(b), want, "create body")
	}
	s.GPUVendor = "amd"
	b, _ = json.Marshal(createBody(s, "img:1"))
	assert.Contains(t, string(b), `"PathOnHost":"/dev/kfd"`, "amd body")
	assert.Contains(t, string(b), `"PathOnHost":"/dev/dri"`, "amd body")
	assert.NotContains(t, string(b), "DeviceRequests", "amd body")
}

// fakeDaemon serves the handful of endpoints the backend uses on a unix socket.
type fakeDaemon struct {
	mu      sync.Mutex
	paths   []string
	created map[string]any
	running bool
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.paths = append(d.paths, r.Method+" "+r.URL.Path)
	d.mu.Unlock()
	p := r.URL.Path
	switch {
	case p == "/version":
		w.Write([]byte(`{"ApiVersion":"1.41","Version":"20.10.24"}`))
	case strings.HasSuffix(p, "/images/img:1/json"):
		w.Write([]byte(`{"Id":"sha256:abc","RepoDigests":["img@sha256:def"]}`))
	case strings.HasSuffix(p, "/images/missing:1/json"):
		w.WriteHeader(404)
		w.Write([]byte(`{"message":"No such image: missing:1"}`))
	case strings.HasSuffix(p, "/containers/create"):
		json.NewDecoder(r.Body).Decode(&d.created)
		w.WriteHeader(201)
		w.Write([]byte(`{"Id":"c1"}`))
	case strings.HasSuffix(p, "/containers/c1/start"):
		d.running = true
		w.WriteHeader(204)
	case strings.HasSuffix(p, "/containers/c1/logs"):
		w.Write(frame(1, "engine says hi\n"))
	case strings.HasSuffix(p, "/containers/c1/wait"):
		for {
			d.mu.Lock()
			run := d.running
			d.mu.Unlock()
			if !run {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		w.Write([]byte(`{"StatusCode":137}`))
	case strings.HasSuffix(p, "/containers/c1/json"):
		w.Write([]byte(`{"State":{"OOMKilled":true}}`))
	case strings.HasSuffix(p, "/containers/c1/stop"):
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
		w.WriteHeader(204)
	case strings.HasSuffix(p, "/containers/json"):
		if !strings.Contains(r.URL.Query().Get("filters"), "io.inferbench.run=r") {
			w.Write([]byte(`[]`))
			return
		}
		w.Write([]byte(`[{"Id":"c1"},{"Id":"c2"}]`))
	case r.Method == "DELETE":
		w.WriteHeader(204)
	default:
		w.WriteHeader(500)
	}
}

func startDaemon(t *testing.T) (*fakeDaemon, string) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	d := &fakeDaemon{}
	srv := httptest.NewUnstartedServer(d)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return d, sock
}

func TestBackendAgainstFakeDaemon(t *testing.T) {
	t.Parallel()
	d, sock := startDaemon(t)
	b := New(Config{Host: "unix://" + sock, StopGrace: time.Second})
	logPath := filepath.Join(t.TempDir(), "server.log")
	srv, err := b.Start(context.Background(), engine.Spec{Name: "inferbench-r-1", RunID: "r", Image: "img:1", Argv: []string{"x"}, LogPath: logPath})
	require.NoError(t, err)
	info := srv.Info()
	assert.Equal(t, "img@sha256:def", info.ImageDigest)
	assert.Equal(t, "c1", info.ID)
	require.NoError(t, srv.Stop(context.Background()))
	<-srv.Done()
	e := srv.Exit()
	assert.Equal(t, 137, e.Code, "exit")
	assert.Equal(t, "OOM killed", e.Reason, "exit")
	logged, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Equal(t, "engine says hi", strings.TrimSpace(string(logged)), "log")
	joined := strings.Join(d.paths, "\n")
	for _, want := range []string{"GET /version", "POST /v1.41/containers/create", "POST /v1.41/containers/c1/stop", "DELETE /v1.41/containers/c1"} {
		assert.Contains(t, joined, want, "daemon did not see")
	}
	require.NoError(t, b.Cleanup(context.Background(), "r"))
	assert.Contains(t, strings.Join(d.paths, "\n"), "DELETE /v1.41/containers/c2", "cleanup did not remove the run's containers")
}

func TestPullNeverOnMissingImage(t *testing.T) {
	t.Parallel()
	_, sock := startDaemon(t)
	b := New(Config{Host: "unix://" + sock, Pull: "never"})
	_, err := b.Start(context.Background(), engine.Spec{Name: "n", RunID: "r", Image: "missing:1", LogPath: filepath.Join(t.TempDir(), "l")})
	require.ErrorContains(t, err, "pull: never")
}

func TestDaemonDown(t *testing.T) {
	t.Parallel()
	b := New(Config{Host: "unix://" + filepath.Join(t.TempDir(), "none.sock")})
	_, err := b.List(context.Background(), "r")
	require.ErrorContains(t, err, "docker daemon not reachable")
}

func TestVersionLess(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		want bool
	}{{"1.41", "1.43", true}, {"1.43", "1.41", false}, {"1.9", "1.41", true}, {"1.41", "1.41", false}} {
		assert.Equal(t, c.want, versionLess(c.a, c.b), "%s < %s", c.a, c.b)
	}
}

// TestRegistryAuth: the logins of a pull are the docker CLI's: the registry's credHelpers
// entry, else credsStore, else auths; a helper without a login means an anonymous pull.
func TestRegistryAuth(t *testing.T) {
	t.Parallel()
	decode := func(t *testing.T, s string) map[string]string {
		t.Helper()
		if s == "" {
			return nil
		}
		b, err := base64.URLEncoding.DecodeString(s)
		require.NoError(t, err)
		var m map[string]string
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	helpers := &execx.Fake{}
	helpers.OnFunc([]string{"docker-credential-pass", "get"}, func(_ context.Context, c execx.Cmd) (execx.Result, error) {
		if execx.ReadAllStdin(c) == "ghcr.io" {
			return execx.Result{Stdout: []byte(`{"ServerURL": "ghcr.io", "Username": "octo", "Secret": "ghp_1"}`)}, nil
		}
		return execx.Result{Stdout: []byte("credentials not found in native keychain\n"), ExitCode: 1}, &execx.ExitError{ExitCode: 1}
	})
	helpers.OnFunc([]string{"docker-credential-ecr-login", "get"}, func(_ context.Context, c execx.Cmd) (execx.Result, error) {
		return execx.Result{Stdout: []byte(`{"ServerURL": "` + execx.ReadAllStdin(c) + `", "Username": "<token>", "Secret": "tok"}`)}, nil
	})
	helpers.On([]string{"docker-credential-broken", "get"}, "", 3)
	auths := configFile{}
	require.NoError(t, json.Unmarshal([]byte(`{"auths": {"nvcr.io": {"auth": "JG9hdXRodG9rZW46c2VjcmV0"}, "https://index.docker.io/v1/": {"auth": "dTpw"}}}`), &auths))
	withStore := auths
	withStore.CredsStore = "pass"
	withStore.CredHelpers = map[string]string{"1234.dkr.ecr.us-east-1.amazonaws.com": "ecr-login", "broken.example.com": "broken"}
	for _, tc := range []struct {
		name, ref string
		cfg       configFile
		want      map[string]string
		wantErr   string
	}{
		{name: "auths entry", ref: "nvcr.io/nvidia/tensorrt-llm/release:1.2.0", cfg: auths,
			want: map[string]string{"username": "$oauthtoken", "password": "secret", "serveraddress": "nvcr.io"}},
		{name: "docker hub under its CLI key", ref: "lmsysorg/sglang:v0.5.6", cfg: auths,
			want: map[string]string{"username": "u", "password": "p", "serveraddress": "index.docker.io"}},
		{name: "no login for the registry", ref: "rocm.example.com/atom:1", cfg: auths},
		{name: "no config", ref: "nvcr.io/x", cfg: configFile{}},
		{name: "credsStore wins over auths", ref: "ghcr.io/org/img:1", cfg: withStore,
			want: map[string]string{"username": "octo", "password": "ghp_1", "serveraddress": "ghcr.io"}},
		{name: "credsStore without a login is anonymous", ref: "nvcr.io/x", cfg: withStore},
		{name: "credHelpers entry, identity token", ref: "1234.dkr.ecr.us-east-1.amazonaws.com/img:2", cfg: withStore,
			want: map[string]string{"identitytoken": "tok", "serveraddress": "1234.dkr.ecr.us-east-1.amazonaws.com"}},
		{name: "a failing helper is an error", ref: "broken.example.com/img", cfg: withStore, wantErr: "docker-credential-broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := registryAuth(context.Background(), helpers, tc.cfg, tc.ref)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, decode(t, got))
		})
	}
}
