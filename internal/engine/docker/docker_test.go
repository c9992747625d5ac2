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

	"github.com/inferbench/inferbench/internal/engine"
)

func frame(stream byte, s string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func TestDemux(t *testing.T) {
	in := append(append(frame(1, "out line\n"), frame(2, "err line\n")...), frame(1, "tail")...)
	var out bytes.Buffer
	if err := demux(&out, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out line\nerr line\ntail" {
		t.Errorf("got %q", out.String())
	}
}

func TestImageRef(t *testing.T) {
	if got := ImageRef("nvcr.io#nvidia/tensorrt-llm/release:1.2.0"); got != "nvcr.io/nvidia/tensorrt-llm/release:1.2.0" {
		t.Errorf("got %s", got)
	}
}

func TestCreateBody(t *testing.T) {
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
		if !strings.Contains(string(b), want) {
			t.Errorf("create body lacks %s:\n%s", want, b)
		}
	}
	s.GPUVendor = "amd"
	b, _ = json.Marshal(createBody(s, "img:1"))
	if !strings.Contains(string(b), `"PathOnHost":"/dev/kfd"`) || !strings.Contains(string(b), `"PathOnHost":"/dev/dri"`) || strings.Contains(string(b), "DeviceRequests") {
		t.Errorf("amd body:\n%s", b)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{}
	srv := httptest.NewUnstartedServer(d)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return d, sock
}

func TestBackendAgainstFakeDaemon(t *testing.T) {
	d, sock := startDaemon(t)
	b := New(Config{Socket: sock, StopGrace: time.Second})
	logPath := filepath.Join(t.TempDir(), "server.log")
	srv, err := b.Start(context.Background(), engine.Spec{Name: "inferbench-r-1", RunID: "r", Image: "img:1", Argv: []string{"x"}, LogPath: logPath})
	if err != nil {
		t.Fatal(err)
	}
	if info := srv.Info(); info.ImageDigest != "img@sha256:def" || info.ID != "c1" {
		t.Errorf("info %+v", info)
	}
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-srv.Done()
	if e := srv.Exit(); e.Code != 137 || e.Reason != "OOM killed" {
		t.Errorf("exit %+v", e)
	}
	if tail := engine.TailFile(logPath, 5); tail != "engine says hi" {
		t.Errorf("log %q", tail)
	}
	joined := strings.Join(d.paths, "\n")
	for _, want := range []string{"GET /version", "POST /v1.41/containers/create", "POST /v1.41/containers/c1/stop", "DELETE /v1.41/containers/c1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("daemon did not see %s:\n%s", want, joined)
		}
	}
	if err := b.Cleanup(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(d.paths, "\n"), "DELETE /v1.41/containers/c2") {
		t.Errorf("cleanup did not remove the run's containers")
	}
}

func TestPullNeverOnMissingImage(t *testing.T) {
	_, sock := startDaemon(t)
	b := New(Config{Socket: sock, Pull: "never"})
	_, err := b.Start(context.Background(), engine.Spec{Name: "n", RunID: "r", Image: "missing:1", LogPath: filepath.Join(t.TempDir(), "l")})
	if err == nil || !strings.Contains(err.Error(), "pull: never") {
		t.Fatalf("err = %v", err)
	}
}

func TestDaemonDown(t *testing.T) {
	b := New(Config{Socket: filepath.Join(t.TempDir(), "none.sock")})
	_, err := b.List(context.Background(), "r")
	if err == nil || !strings.Contains(err.Error(), "docker daemon not reachable") {
		t.Fatalf("err = %v", err)
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"1.41", "1.43", true}, {"1.43", "1.41", false}, {"1.9", "1.41", true}, {"1.41", "1.41", false}} {
		if got := versionLess(c.a, c.b); got != c.want {
			t.Errorf("%s < %s = %v", c.a, c.b, got)
		}
	}
}

func TestRegistryAuth(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"auths": {"nvcr.io": {"auth": "JG9hdXRodG9rZW46c2VjcmV0"}, "https://index.docker.io/v1/": {"auth": "dTpw"}}}`), 0o600)
	decode := func(s string) map[string]string {
		b, _ := base64.URLEncoding.DecodeString(s)
		var m map[string]string
		json.Unmarshal(b, &m)
		return m
	}
	if m := decode(registryAuth(cfg, "nvcr.io/nvidia/tensorrt-llm/release:1.2.0")); m["username"] != "$oauthtoken" || m["password"] != "secret" || m["serveraddress"] != "nvcr.io" {
		t.Errorf("nvcr.io: %v", m)
	}
	if m := decode(registryAuth(cfg, "lmsysorg/sglang:v0.5.6")); m["username"] != "u" || m["serveraddress"] != "index.docker.io" {
		t.Errorf("docker hub: %v", m)
	}
	if got := registryAuth(cfg, "rocm.example.com/atom:1"); got != "" {
		t.Errorf("unknown registry got %q", got)
	}
	if got := registryAuth("", "nvcr.io/x"); got != "" {
		t.Errorf("no config got %q", got)
	}
}
