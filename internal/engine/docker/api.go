// Package docker runs engine servers as containers through the Docker Engine API. It needs
// no docker CLI and no client module: a handful of endpoints over net/http, the daemon found
// as the CLI finds it (DOCKER_HOST, docker contexts; unix and tcp, TLS) and registry logins
// taken from the CLI's config (auths, credsStore, credHelpers). Everything it creates carries
// the run's labels.
package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// maxAPIVersion is the newest API we speak; older daemons (20.10 speaks 1.41) get theirs.
const maxAPIVersion = "1.43"

// minAPIVersion is the oldest with everything we use (device requests need 1.40).
const minAPIVersion = "1.40"

// api is a minimal Docker Engine API client.
type api struct {
	http    *http.Client
	base    string // "http://docker" on a unix socket, "http(s)://host:port" over tcp
	ep      Endpoint
	epErr   error // the endpoint could not be resolved: every call fails with it
	once    sync.Once
	version string
	verErr  error
}

func newAPI(ep Endpoint, epErr error) *api {
	a := &api{ep: ep, epErr: epErr, base: "http://docker"}
	network, addr, err := dialTarget(ep.Host)
	if err != nil && a.epErr == nil {
		a.epErr = err
	}
	if network == "tcp" {
		if ep.TLS != nil && !strings.Contains(strings.TrimPrefix(ep.Host, "tcp://"), ":") {
			addr = strings.TrimSuffix(addr, ":2375") + ":2376"
		}
		a.base = "http://" + addr
		if ep.TLS != nil {
			a.base = "https://" + addr
		}
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: ep.TLS,
	}
	a.http = &http.Client{Transport: tr}
	return a
}

// negotiate picks the API version: the daemon's own when older than ours.
func (a *api) negotiate(ctx context.Context) (string, error) {
	a.once.Do(func() {
		var v struct {
			APIVersion string `json:"ApiVersion"`
			Version    string `json:"Version"`
		}
		if a.epErr != nil {
			a.verErr = fmt.Errorf("docker daemon: %w", a.epErr)
			return
		}
		if err := a.do(ctx, http.MethodGet, "/version", nil, &v); err != nil {
			a.verErr = fmt.Errorf("docker daemon not reachable at %s (from %s): %w (is dockerd running and the socket readable?)", a.ep.Host, a.ep.From, err)
			return
		}
		a.version = maxAPIVersion
		if v.APIVersion != "" && versionLess(v.APIVersion, maxAPIVersion) {
			a.version = v.APIVersion
		}
		if versionLess(a.version, minAPIVersion) {
			a.verErr = fmt.Errorf("docker daemon %s speaks API %s; need at least %s", v.Version, v.APIVersion, minAPIVersion)
		}
	})
	return a.version, a.verErr
}

func versionLess(a, b string) bool {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := 0; i < 2; i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// apiError is a non-2xx answer from the daemon.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("docker API: %d %s", e.Status, e.Message) }

func isNotFound(err error) bool {
	ae, ok := err.(*apiError)
	return ok && ae.Status == http.StatusNotFound
}

// call sends a versioned request; body is JSON-encoded when non-nil, out decoded when non-nil.
func (a *api) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	v, err := a.negotiate(ctx)
	if err != nil {
		return err
	}
	p := "/v" + v + path
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return a.do(ctx, method, p, body, out)
}

func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := a.send(ctx, method, path, body, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && err != io.EOF {
		return fmt.Errorf("docker API %s %s: decode: %w", method, path, err)
	}
	return nil
}

// send returns the raw response of a successful request; the caller closes the body.
func (a *api) send(ctx context.Context, method, path string, body any, registryAuth string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if registryAuth != "" {
		req.Header.Set("X-Registry-Auth", registryAuth)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var m struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &m) == nil && m.Message != "" {
			msg = m.Message
		}
		return nil, &apiError{Status: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

// stream sends a versioned request and hands back the body for streaming endpoints (logs).
func (a *api) stream(ctx context.Context, method, path string, q url.Values, registryAuth string) (io.ReadCloser, error) {
	v, err := a.negotiate(ctx)
	if err != nil {
		return nil, err
	}
	p := "/v" + v + path
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	resp, err := a.send(ctx, method, p, nil, registryAuth)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
