package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
)

// dockerHubAuthKey is the key under which the docker CLI keeps Docker Hub logins, in auths
// and in credential helpers alike.
const dockerHubAuthKey = "https://index.docker.io/v1/"

// credentials is a registry login: a user and password, or an identity token.
type credentials struct {
	Username, Password, IdentityToken string
}

// registryAuth returns the X-Registry-Auth header for pulling ref with the logins of the
// docker CLI's config in dir, as the CLI picks them: the registry's credHelpers entry, else
// the credsStore, else the base64 "auths" entry `docker login` writes. A helper is run as
// `docker-credential-<name> get` with the registry on stdin. "" means anonymous: no login
// for the registry (a helper that has none says so and is not an error).
func registryAuth(ctx context.Context, run execx.Executor, cfg configFile, ref string) (string, error) {
	host := registryHost(ref)
	key := host
	if host == "index.docker.io" {
		key = dockerHubAuthKey
	}
	var c credentials
	var err error
	switch helper := cfg.CredHelpers[host]; {
	case helper != "":
		c, err = fromHelper(ctx, run, helper, key)
	case cfg.CredsStore != "":
		c, err = fromHelper(ctx, run, cfg.CredsStore, key)
	default:
		c, err = fromAuths(cfg, host)
	}
	if err != nil || c == (credentials{}) {
		return "", err
	}
	m := map[string]string{"serveraddress": host}
	if c.IdentityToken != "" {
		m["identitytoken"] = c.IdentityToken
	} else {
		m["username"], m["password"] = c.Username, c.Password
	}
	hdr, _ := json.Marshal(m)
	return base64.URLEncoding.EncodeToString(hdr), nil
}

// fromAuths decodes the config's "auths" entry for host (keys may carry a scheme and path).
func fromAuths(cfg configFile, host string) (credentials, error) {
	for k, v := range cfg.Auths {
		h := strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
		h, _, _ = strings.Cut(h, "/")
		if h == "index.docker.io" || h == "registry-1.docker.io" || h == "docker.io" {
			h = "index.docker.io"
		}
		if h != host {
			continue
		}
		if v.IdentityToken != "" {
			return credentials{IdentityToken: v.IdentityToken}, nil
		}
		if v.Auth == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(v.Auth)
		if err != nil {
			return credentials{}, fmt.Errorf("docker config: the auths entry of %s is not base64: %w", k, err)
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		return credentials{Username: user, Password: pass}, nil
	}
	return credentials{}, nil
}

// helperTimeout bounds a credential helper (a keychain prompt must not hang a run).
const helperTimeout = 30 * time.Second

// fromHelper asks docker-credential-<name> for the login of key.
func fromHelper(ctx context.Context, run execx.Executor, name, key string) (credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	res, err := run.Run(ctx, execx.Cmd{Name: "docker-credential-" + name, Args: []string{"get"}, Stdin: strings.NewReader(key)})
	if err != nil {
		// The helper protocol's "no login for this registry" is an anonymous pull.
		if strings.Contains(string(res.Stdout), "credentials not found") {
			return credentials{}, nil
		}
		return credentials{}, fmt.Errorf("credential helper docker-credential-%s for %s: %w", name, key, err)
	}
	var out struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(res.Stdout), &out); err != nil {
		return credentials{}, fmt.Errorf("credential helper docker-credential-%s for %s: its answer is not JSON: %w", name, key, err)
	}
	if out.Username == "<token>" {
		return credentials{IdentityToken: out.Secret}, nil
	}
	return credentials{Username: out.Username, Password: out.Secret}, nil
}

// registryHost is the registry part of an image reference; Docker Hub when there is none.
func registryHost(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		if first == "docker.io" || first == "registry-1.docker.io" {
			return "index.docker.io"
		}
		return first
	}
	return "index.docker.io"
}
