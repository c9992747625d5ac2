package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// writeContext writes a docker context named name pointing at host into the config dir.
func writeContext(t *testing.T, dir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(meta), 0o755))
	require.NoError(t, os.WriteFile(meta, []byte(`{"Name": "`+name+`", "Metadata": {}, "Endpoints": {"docker": {"Host": "`+host+`", "SkipTLSVerify": false}}}`), 0o644))
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestResolveEndpoint(t *testing.T) {
	t.Parallel()
	cfgDir := t.TempDir()
	writeContext(t, cfgDir, "remote", "tcp://10.0.0.7:2375")
	writeContext(t, cfgDir, "rootless", "unix:///run/user/1000/docker.sock")
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"currentContext": "rootless"}`), 0o644))
	emptyDir := t.TempDir()
	for _, tc := range []struct {
		name     string
		env      map[string]string
		wantHost string
		wantFrom string
		wantErr  string
	}{
		{name: "nothing set", env: map[string]string{"HOME": emptyDir}, wantHost: DefaultHost, wantFrom: "default"},
		{name: "DOCKER_HOST unix", env: map[string]string{"DOCKER_HOST": "unix:///some/other.sock"}, wantHost: "unix:///some/other.sock", wantFrom: "DOCKER_HOST"},
		{name: "DOCKER_HOST tcp", env: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"}, wantHost: "tcp://127.0.0.1:2375", wantFrom: "DOCKER_HOST"},
		{name: "DOCKER_HOST beats DOCKER_CONTEXT", env: map[string]string{"DOCKER_HOST": "unix:///a.sock", "DOCKER_CONTEXT": "remote", "DOCKER_CONFIG": cfgDir},
			wantHost: "unix:///a.sock", wantFrom: "DOCKER_HOST"},
		{name: "DOCKER_CONTEXT beats currentContext", env: map[string]string{"DOCKER_CONTEXT": "remote", "DOCKER_CONFIG": cfgDir},
			wantHost: "tcp://10.0.0.7:2375", wantFrom: `context "remote"`},
		{name: "currentContext of config.json", env: map[string]string{"DOCKER_CONFIG": cfgDir}, wantHost: "unix:///run/user/1000/docker.sock", wantFrom: `context "rootless"`},
		{name: "the default context", env: map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": cfgDir}, wantHost: DefaultHost, wantFrom: "default"},
		{name: "contexts are looked up under HOME/.docker", env: map[string]string{"HOME": filepath.Dir(cfgDir), "DOCKER_CONTEXT": "remote"}, wantErr: `docker context "remote"`},
		{name: "unknown context", env: map[string]string{"DOCKER_CONTEXT": "nope", "DOCKER_CONFIG": cfgDir}, wantErr: "docker context ls"},
		{name: "ssh is refused with a hint", env: map[string]string{"DOCKER_HOST": "ssh://me@gpu-7"}, wantErr: "ssh -L"},
		{name: "unix without a path", env: map[string]string{"DOCKER_HOST": "unix://"}, wantErr: "socket path"},
		{name: "TLS without certificates", env: map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": cfgDir},
			wantHost: "tcp://h:2376", wantFrom: "DOCKER_HOST"},
		{name: "a CA that is no certificate", env: map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_CERT_PATH": filepath.Join(cfgDir, "bad")},
			wantErr: "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "a CA that is no certificate" {
				require.NoError(t, os.MkdirAll(filepath.Join(cfgDir, "bad"), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "bad", "ca.pem"), []byte("not pem"), 0o644))
			}
			ep, err := ResolveEndpoint(envOf(tc.env))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantHost, ep.Host)
			assert.Equal(t, tc.wantFrom, ep.From)
		})
	}
}

// TestTLSDaemon: with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH the backend talks HTTPS to a
// tcp daemon and checks its certificate against the CA there.
func TestTLSDaemon(t *testing.T) {
	t.Parallel()
	d := &listDaemon{containers: []summary{ours("c1", "r1", "")}}
	srv := httptest.NewTLSServer(d)
	t.Cleanup(srv.Close)
	certs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(certs, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	host := "tcp://" + strings.TrimPrefix(srv.URL, "https://")

	b := New(Config{Getenv: envOf(map[string]string{"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs})})
	require.NoError(t, b.Validate())
	ids, err := b.List(context.Background(), "r1")
	require.NoError(t, err)
	assert.Equal(t, []string{"c1"}, ids)

	// Without the CA the daemon's certificate is not trusted.
	_, err = New(Config{Getenv: envOf(map[string]string{"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": t.TempDir()})}).List(context.Background(), "r1")
	require.ErrorContains(t, err, "certificate")
}

// realDaemon is the host's daemon socket, or skips (fails under INFERBENCH_INTEGRATION=1).
func realDaemon(t *testing.T) string {
	t.Helper()
	const sock = "/var/run/docker.sock"
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err == nil {
		c.Close()
	}
	testkit.Integration(t, "docker", err == nil, "bash .ci/services.sh all starts dockerd on "+sock)
	return sock
}

// TestRealDaemonThroughDockerHost: the backend reaches the real daemon where DOCKER_HOST
// (unix or tcp) or a docker context says it is, here a forwarding socket the test owns:
// the daemon answers (the run's containers are listed) and every request went through the
// forward.
func TestRealDaemonThroughDockerHost(t *testing.T) {
	t.Parallel()
	daemon := realDaemon(t)
	unixSock := filepath.Join(t.TempDir(), "other.sock")
	ul, err := net.Listen("unix", unixSock)
	require.NoError(t, err)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctxSock := filepath.Join(t.TempDir(), "context.sock")
	cl, err := net.Listen("unix", ctxSock)
	require.NoError(t, err)
	cfgDir := t.TempDir()
	writeContext(t, cfgDir, "forwarded", "unix://"+ctxSock)
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"currentContext": "forwarded"}`), 0o644))

	for _, tc := range []struct {
		name string
		ln   net.Listener
		env  map[string]string
	}{
		{"DOCKER_HOST=unix://", ul, map[string]string{"DOCKER_HOST": "unix://" + unixSock}},
		{"DOCKER_HOST=tcp://", tl, map[string]string{"DOCKER_HOST": "tcp://" + tl.Addr().String()}},
		{"currentContext", cl, map[string]string{"DOCKER_CONFIG": cfgDir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := testkit.Proxy(t, tc.ln, "unix", daemon)
			b := New(Config{Getenv: envOf(tc.env)})
			require.NoError(t, b.Validate())
			ids, err := b.List(context.Background(), "inferbench-no-such-run")
			require.NoError(t, err)
			assert.Empty(t, ids)
			assert.Positive(t, conns.Load(), "the backend did not go through %s", tc.ln.Addr())
		})
	}
}
