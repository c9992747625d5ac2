package plan

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// History is what earlier sweeps took: per point, how long the load ran, how long the
// engine took to start when the point started one, and how long stopping and evals took.
type History struct {
	Dir     string
	samples []sample
	// Files is how many result files were used; Problems lists those that could not be read.
	Files    int
	Problems []string
}

// sample is one point of an earlier sweep.
type sample struct {
	key, launch string
	cfg         cfgAttrs
	conc        int
	gpus        int
	prompts     int
	warmups     int
	// Seconds of each phase; negative when the point has none.
	load, startup, stop, eval float64
}

// cfgAttrs are the row attributes history is matched on beyond fingerprints.
type cfgAttrs struct {
	HW, Model, Framework, Precision, Spec string
	ISL, OSL, TP, EP                      int
	DPAttn                                bool
	// Layout describes a multi-node row's workers ("" for single-node rows).
	Layout string
}

// exact is every attribute: the same configuration, perhaps with another image or recipe.
func (c cfgAttrs) exact() string { return fmt.Sprintf("%+v", c) }

// loose is what a "nearest configuration" must share: hardware, model, engine, precision,
// sequence lengths and whether it is multi-node.
func (c cfgAttrs) loose() string {
	return strings.Join([]string{c.HW, c.Model, c.Framework, c.Precision, fmt.Sprint(c.ISL, "/", c.OSL), fmt.Sprint(c.Layout != "")}, "|")
}

// engine is hardware and engine, for start-up and stop times.
func (c cfgAttrs) engine() string { return c.HW + "|" + c.Framework }

// model is hardware, engine, model and parallelism, for start-up times.
func (c cfgAttrs) model() string {
	return strings.Join([]string{c.HW, c.Framework, c.Model, fmt.Sprint(c.TP), c.Layout}, "|")
}

func layout(mn *result.Multinode) string {
	if mn == nil {
		return ""
	}
	return fmt.Sprintf("P%dx%d/%d D%dx%d/%d", mn.Prefill.NumWorkers, mn.Prefill.TP, mn.Prefill.EP, mn.Decode.NumWorkers, mn.Decode.TP, mn.Decode.EP)
}

// LoadHistory reads every manifest (manifest_*.json) under dir: their phase timings are the
// history. Agg records (agg_*.json, agg_bmk.json) of points without a manifest add load
// times from their benchmark duration. Files that cannot be read are listed, not fatal.
func LoadHistory(fsys fs.FS, dir string) (*History, error) {
	h := &History{Dir: dir}
	if _, err := fs.Stat(fsys, "."); err != nil {
		return nil, fmt.Errorf("history %s: %w", dir, err)
	}
	seen := map[string]bool{}
	var aggs []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			h.Problems = append(h.Problems, fmt.Sprintf("%s: %v", path.Join(dir, p), err))
			return nil
		}
		name := d.Name()
		switch {
		case d.IsDir() || !strings.HasSuffix(name, ".json"):
		case strings.HasPrefix(name, "manifest_"):
			h.manifest(fsys, dir, p, seen)
		case strings.HasPrefix(name, "agg_") && name != "agg_eval_all.json":
			aggs = append(aggs, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range aggs {
		h.aggs(fsys, dir, p, seen)
	}
	return h, nil
}

func (h *History) manifest(fsys fs.FS, dir, p string, seen map[string]bool) {
	b, err := fs.ReadFile(fsys, p)
	var m result.Manifest
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		h.Problems = append(h.Problems, fmt.Sprintf("%s: %v", path.Join(dir, p), err))
		return
	}
	// A reused copy repeats the timings of the run that measured it.
	id := m.ResultFilename + "|" + m.Started.String()
	if m.Status == "" || seen[id] {
		return
	}
	seen[id] = true
	seen[m.ResultFilename] = true
	s := sample{conc: m.Conc, load: -1, startup: -1, stop: -1, eval: -1,
		cfg: cfgAttrs{HW: m.HW, Model: m.Model, Framework: m.Framework, Precision: m.Precision, Spec: m.SpecDecoding,
			ISL: m.ISL, OSL: m.OSL, TP: m.TP, EP: m.EP, DPAttn: m.DPAttention, Layout: layout(m.Multinode)}}
	s.prompts, s.warmups, s.gpus = 10*m.Conc, 2*m.Conc, m.TP
	if mn := m.Multinode; mn != nil {
		s.gpus = mn.PrefillGPUs + mn.DecodeGPUs
	}
	if fp := m.Fingerprint; fp != nil {
		s.key, s.launch = fp.Key, fp.Launch
		var c struct {
			NumPrompts int `json:"num_prompts"`
			NumWarmups int `json:"num_warmups"`
		}
		if json.Unmarshal(fp.Client, &c) == nil && c.NumPrompts > 0 {
			s.prompts, s.warmups = c.NumPrompts, c.NumWarmups
		}
	}
	var start, ready float64 = -1, -1
	for _, ph := range m.Phases {
		if ph.Status != "ok" {
			continue
		}
		switch ph.Name {
		case "start":
			start = ph.Seconds
		case "ready":
			ready = ph.Seconds
		case "load":
			if m.OK() || m.Status == result.StatusEvalFailed {
				s.load = ph.Seconds
			}
		case "stop":
			// A point that restarted the server also stopped the previous one; the
			// last point's stop is the final teardown. Either is one stop.
			s.stop = ph.Seconds
		case "eval":
			s.eval = ph.Seconds
		}
	}
	if start >= 0 && ready >= 0 && !m.ServerReused {
		s.startup = start + ready
	}
	h.Files++
	h.samples = append(h.samples, s)
}

// aggs reads an agg record or an agg_bmk.json array; records of points with a manifest are
// already known.
func (h *History) aggs(fsys fs.FS, dir, p string, seen map[string]bool) {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		h.Problems = append(h.Problems, fmt.Sprintf("%s: %v", path.Join(dir, p), err))
		return
	}
	var recs []result.Agg
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &recs)
	} else {
		var a result.Agg
		err = json.Unmarshal(b, &a)
		recs = append(recs, a)
	}
	if err != nil {
		h.Problems = append(h.Problems, fmt.Sprintf("%s: %v", path.Join(dir, p), err))
		return
	}
	used := false
	for _, a := range recs {
		x := a.Ext
		if x == nil || x.Duration <= 0 || x.NumPrompts <= 0 || seen[x.ResultFilename] {
			continue
		}
		seen[x.ResultFilename] = true
		s := sample{key: x.ResultFingerprint, conc: a.Conc, prompts: x.NumPrompts, warmups: 2 * a.Conc, startup: -1, stop: -1, eval: -1,
			cfg: cfgAttrs{HW: a.HW, Model: a.Model, Framework: a.Framework, Precision: a.Precision, Spec: a.SpecDecoding,
				ISL: a.ISL, OSL: a.OSL, TP: a.TP, EP: a.EP, DPAttn: a.DPAttention == "true"}}
		s.gpus = a.GPUs()
		if a.IsMultinode {
			s.cfg.Layout = fmt.Sprintf("P%dx%d/%d D%dx%d/%d", a.Prefill.NumWorkers, a.Prefill.TP, a.Prefill.EP, a.Decode.NumWorkers, a.Decode.TP, a.Decode.EP)
			s.cfg.TP, s.cfg.EP, s.cfg.DPAttn = 0, 0, false
		}
		// The record's duration leaves out the warm-ups, sent at the same concurrency.
		s.load = x.Duration * float64(s.prompts+s.warmups) / float64(s.prompts)
		h.samples = append(h.samples, s)
		used = true
	}
	if used {
		h.Files++
	}
}

// Points is how many points the history holds.
func (h *History) Points() int { return len(h.samples) }

// index groups the samples by what they can be matched on.
type index struct {
	byKey, byLaunch, byExact, byLoose, byModel, byEngine map[string][]*sample
}

func (h *History) index() *index {
	ix := &index{map[string][]*sample{}, map[string][]*sample{}, map[string][]*sample{}, map[string][]*sample{}, map[string][]*sample{}, map[string][]*sample{}}
	if h == nil {
		return ix
	}
	for i := range h.samples {
		s := &h.samples[i]
		if s.key != "" {
			ix.byKey[s.key] = append(ix.byKey[s.key], s)
		}
		if s.launch != "" {
			ix.byLaunch[s.launch] = append(ix.byLaunch[s.launch], s)
		}
		ix.byExact[s.cfg.exact()] = append(ix.byExact[s.cfg.exact()], s)
		ix.byLoose[s.cfg.loose()] = append(ix.byLoose[s.cfg.loose()], s)
		ix.byModel[s.cfg.model()] = append(ix.byModel[s.cfg.model()], s)
		ix.byEngine[s.cfg.engine()] = append(ix.byEngine[s.cfg.engine()], s)
	}
	for _, m := range []map[string][]*sample{ix.byKey, ix.byLaunch, ix.byExact, ix.byLoose, ix.byModel, ix.byEngine} {
		for _, ss := range m {
			sort.SliceStable(ss, func(a, b int) bool { return ss[a].conc < ss[b].conc })
		}
	}
	return ix
}
