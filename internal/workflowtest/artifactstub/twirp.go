package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runtime is what a step needs to talk to the artifact service.
type runtime struct {
	token, resultsURL string
	runID, jobID      string
	client            *http.Client
}

// runtimeFromEnv reads the variables act (and the real runner, for JavaScript actions)
// gives a step. The token's scp claim carries the run and job backend ids:
// "Actions.Results:<run>:<job>".
func runtimeFromEnv(getenv func(string) string) (*runtime, error) {
	tok, base := getenv("ACTIONS_RUNTIME_TOKEN"), getenv("ACTIONS_RESULTS_URL")
	if tok == "" || base == "" {
		return nil, errors.New("ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL must be set (run under act with --artifact-server-path)")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("ACTIONS_RUNTIME_TOKEN is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("ACTIONS_RUNTIME_TOKEN payload: %w", err)
	}
	var claims struct {
		Scp string `json:"scp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("ACTIONS_RUNTIME_TOKEN claims: %w", err)
	}
	for _, scope := range strings.Fields(claims.Scp) {
		f := strings.Split(scope, ":")
		if len(f) == 3 && f[0] == "Actions.Results" {
			return &runtime{token: tok, resultsURL: strings.TrimSuffix(base, "/"), runID: f[1], jobID: f[2],
				client: &http.Client{Timeout: 60 * time.Second}}, nil
		}
	}
	return nil, fmt.Errorf("ACTIONS_RUNTIME_TOKEN has no Actions.Results scope (scp %q)", claims.Scp)
}

// call posts one twirp JSON request to the artifact service.
func (r *runtime) call(ctx context.Context, method string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	url := r.resultsURL + "/twirp/github.actions.results.api.v1.ArtifactService/" + method
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+r.token)
	res, err := r.client.Do(hr)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", method, res.StatusCode, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("%s: response: %w", method, err)
	}
	return nil
}

// blob sends one request to a signed blob URL and checks for a 2xx status.
func (r *runtime) blob(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("x-ms-blob-type", "BlockBlob")
	}
	res, err := r.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s blob: HTTP %d: %s", method, res.StatusCode, bytes.TrimSpace(data))
	}
	return data, nil
}
