package rowrun

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

// GPUInfo asks nvidia-smi, then rocm-smi, what accelerators this machine has; nil when
// neither tool is present (CPU runners, the simulator).
func GPUInfo(ctx context.Context, r execx.Executor) *result.GPUInfo {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := r.Run(ctx, execx.Cmd{Name: "nvidia-smi", Args: []string{"--query-gpu=name,driver_version", "--format=csv,noheader"}})
	if err == nil {
		return parseNvidiaSMI(string(res.Stdout))
	}
	res, err = r.Run(ctx, execx.Cmd{Name: "rocm-smi", Args: []string{"--showproductname", "--json"}})
	if err == nil {
		return parseROCmSMI(res.Stdout)
	}
	return nil
}

func parseNvidiaSMI(out string) *result.GPUInfo {
	g := &result.GPUInfo{Vendor: "nvidia"}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, driver, _ := strings.Cut(line, ",")
		if strings.TrimSpace(name) == "" {
			continue
		}
		g.Count++
		g.Model, g.Driver = strings.TrimSpace(name), strings.TrimSpace(driver)
	}
	if g.Count == 0 {
		return nil
	}
	return g
}

// parseROCmSMI reads `rocm-smi --showproductname --json`: {"card0": {"Card series": ...}}.
func parseROCmSMI(b []byte) *result.GPUInfo {
	var m map[string]map[string]string
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	g := &result.GPUInfo{Vendor: "amd"}
	for k, v := range m {
		if !strings.HasPrefix(k, "card") {
			continue
		}
		g.Count++
		for _, key := range []string{"Card Series", "Card series", "Card model", "Card SKU"} {
			if v[key] != "" && g.Model == "" {
				g.Model = v[key]
			}
		}
	}
	if g.Count == 0 {
		return nil
	}
	return g
}

// EngineVersion asks the server (vLLM and the simulator serve /version; SGLang
// /get_server_info); "" when it does not say.
func EngineVersion(ctx context.Context, baseURL string) string {
	c := &http.Client{Timeout: 3 * time.Second}
	for _, p := range []string{"/version", "/get_server_info"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+p, nil)
		if err != nil {
			return ""
		}
		resp, err := c.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		var v struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &v) == nil && v.Version != "" {
			return v.Version
		}
	}
	return ""
}
