package docker

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
)

// registryAuth returns the X-Registry-Auth header for ref from a docker CLI config file
// (the "auths" entries `docker login` writes), or "" when there is none. Credential helpers
// are not consulted: hosts that use them should pre-pull or set pull: never.
func registryAuth(configFile, ref string) string {
	if configFile == "" {
		return ""
	}
	b, err := os.ReadFile(configFile)
	if err != nil {
		return ""
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	host := registryHost(ref)
	for k, v := range cfg.Auths {
		k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
		k, _, _ = strings.Cut(k, "/")
		if k != host || v.Auth == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(v.Auth)
		if err != nil {
			return ""
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		hdr, _ := json.Marshal(map[string]string{"username": user, "password": pass, "serveraddress": host})
		return base64.URLEncoding.EncodeToString(hdr)
	}
	return ""
}

// registryHost is the registry part of an image reference; Docker Hub when there is none.
func registryHost(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "index.docker.io"
}
