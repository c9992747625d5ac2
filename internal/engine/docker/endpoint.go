package docker

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DefaultHost is the daemon's address when nothing names another one.
const DefaultHost = "unix:///var/run/docker.sock"

// Endpoint is how to reach the Docker daemon.
type Endpoint struct {
	// Host is the address as DOCKER_HOST spells it: unix:///path or tcp://host:port.
	Host string
	// TLS is set for a tcp daemon that wants TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH or
	// the context's TLS material); nil is plain HTTP.
	TLS *tls.Config
	// From says where Host came from, for messages: "DOCKER_HOST", `context "x"`, "default".
	From string
}

// ResolveEndpoint finds the daemon the way the docker CLI does, from the environment
// getenv reads:
//
//  1. DOCKER_HOST, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for a TLS tcp daemon;
//  2. else the context DOCKER_CONTEXT names, else the config file's currentContext
//     ($DOCKER_CONFIG or ~/.docker: config.json, contexts/meta/<sha256 of the name>/meta.json
//     and its TLS files under contexts/tls/<same>/docker);
//  3. else DefaultHost ("default" is the name of that context).
//
// Only unix and tcp addresses are supported; ssh:// and npipe:// are refused with a hint.
func ResolveEndpoint(getenv func(string) string) (Endpoint, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if h := getenv("DOCKER_HOST"); h != "" {
		ep := Endpoint{Host: h, From: "DOCKER_HOST"}
		certs := getenv("DOCKER_CERT_PATH")
		verify := getenv("DOCKER_TLS_VERIFY") != ""
		if certs == "" && verify {
			certs = configDir(getenv)
		}
		if certs != "" && strings.HasPrefix(h, "tcp://") {
			c, err := tlsConfig(filepath.Join(certs, "ca.pem"), filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem"), !verify)
			if err != nil {
				return Endpoint{}, fmt.Errorf("DOCKER_CERT_PATH %s: %w", certs, err)
			}
			ep.TLS = c
		}
		return ep, checkHost(ep)
	}
	name := getenv("DOCKER_CONTEXT")
	from := "DOCKER_CONTEXT"
	if name == "" {
		cfg, err := readConfigFile(configDir(getenv))
		if err != nil {
			return Endpoint{}, err
		}
		name, from = cfg.CurrentContext, "currentContext of "+filepath.Join(configDir(getenv), "config.json")
	}
	if name == "" || name == "default" {
		return Endpoint{Host: DefaultHost, From: "default"}, nil
	}
	ep, err := contextEndpoint(configDir(getenv), name)
	if err != nil {
		return Endpoint{}, fmt.Errorf("docker context %q (%s): %w", name, from, err)
	}
	return ep, checkHost(ep)
}

// configDir is the docker CLI's configuration directory: $DOCKER_CONFIG, else ~/.docker.
func configDir(getenv func(string) string) string {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".docker")
	}
	return ""
}

// configFile is the part of the docker CLI's config.json the agent uses.
type configFile struct {
	CurrentContext string `json:"currentContext"`
	Auths          map[string]struct {
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// readConfigFile reads dir/config.json; a missing file is an empty configuration.
func readConfigFile(dir string) (configFile, error) {
	var cfg configFile
	if dir == "" {
		return cfg, nil
	}
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("docker config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("docker config %s: %w", p, err)
	}
	return cfg, nil
}

// contextEndpoint reads the docker endpoint of a named context.
func contextEndpoint(dir, name string) (Endpoint, error) {
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	p := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return Endpoint{}, fmt.Errorf("no such context (%w); `docker context ls` lists them", err)
	}
	var meta struct {
		Name      string `json:"Name"`
		Endpoints map[string]struct {
			Host          string `json:"Host"`
			SkipTLSVerify bool   `json:"SkipTLSVerify"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("%s: %w", p, err)
	}
	d, ok := meta.Endpoints["docker"]
	if !ok || d.Host == "" {
		return Endpoint{}, fmt.Errorf("%s has no docker endpoint", p)
	}
	ep := Endpoint{Host: d.Host, From: fmt.Sprintf("context %q", name)}
	tlsDir := filepath.Join(dir, "contexts", "tls", id, "docker")
	if _, err := os.Stat(tlsDir); err == nil && strings.HasPrefix(d.Host, "tcp://") {
		c, err := tlsConfig(filepath.Join(tlsDir, "ca.pem"), filepath.Join(tlsDir, "cert.pem"), filepath.Join(tlsDir, "key.pem"), d.SkipTLSVerify)
		if err != nil {
			return Endpoint{}, fmt.Errorf("TLS material in %s: %w", tlsDir, err)
		}
		ep.TLS = c
	}
	return ep, nil
}

// tlsConfig builds a client TLS configuration from PEM files; missing ones are left out
// (a daemon may want only a CA, or only a client certificate).
func tlsConfig(ca, cert, key string, skipVerify bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify} //nolint:gosec // the docker CLI's DOCKER_TLS_VERIFY semantics
	if b, err := os.ReadFile(ca); err == nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", ca)
		}
		c.RootCAs = pool
	}
	if _, err := os.Stat(cert); err == nil {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// checkHost refuses addresses the agent cannot dial, saying what would work.
func checkHost(ep Endpoint) error {
	_, _, err := dialTarget(ep.Host)
	if err != nil {
		return fmt.Errorf("%s %q: %w", ep.From, ep.Host, err)
	}
	return nil
}

// dialTarget is the network and address to dial for host.
func dialTarget(host string) (network, addr string, err error) {
	u, err := url.Parse(host)
	if err != nil {
		return "", "", fmt.Errorf("not a daemon address: %w", err)
	}
	switch u.Scheme {
	case "unix":
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		if p == "" {
			return "", "", errors.New("a unix address needs a socket path (unix:///var/run/docker.sock)")
		}
		return "unix", p, nil
	case "tcp", "http", "https":
		h := u.Host
		if h == "" {
			return "", "", errors.New("a tcp address needs a host (tcp://host:2376)")
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, "2375")
		}
		return "tcp", h, nil
	default:
		return "", "", fmt.Errorf("scheme %q is not supported: use unix:// or tcp:// (for ssh://, forward the socket with `ssh -L` and point DOCKER_HOST at it)", u.Scheme)
	}
}
