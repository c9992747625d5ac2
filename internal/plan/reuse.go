package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// Reuse is the results of an earlier sweep that a new one may take instead of running the
// same points again: every successful point whose manifest carries a fingerprint that still
// adds up and whose agg record is beside it (docs/plan.md).
type Reuse struct {
	Dir string
	// Source names the earlier sweep in the provenance of the copies (a run's address).
	Source string
	fsys   fs.FS
	byKey  map[string][]*candidate
	// Found counts the usable results; Rejected the others, by reason.
	Found    int
	Rejected map[string]int
}

// candidate is one usable result.
type candidate struct {
	manifest, agg string // paths in fsys
	evalDir       string // the eval artifact's directory, "" if none
	m             result.Manifest
	powerValid    bool // the agg record says its power telemetry was valid
}

// Reasons a result is not reused.
const (
	whyStatus    = "did not succeed"
	whyNoFP      = "has no fingerprint (written before fingerprints)"
	whyBadKey    = "fingerprint key does not match its parts"
	whyNoAgg     = "agg record missing or unreadable"
	whyUnread    = "manifest unreadable"
	whyDigest    = "image digest differs from the image's current one"
	whyNoEval    = "row has an accuracy eval but the result has none"
	whyMultinode = "multi-node row is reused only as a whole"
	whyNoPower   = "the sweep requires valid power but the result's power is not valid"
)

// LoadReuse reads the results under dir: downloaded artifacts, one directory per artifact
// (bmk_*, eval_*), or any nesting of them.
func LoadReuse(fsys fs.FS, dir, source string) (*Reuse, error) {
	if _, err := fs.Stat(fsys, "."); err != nil {
		return nil, fmt.Errorf("reuse %s: %w", dir, err)
	}
	r := &Reuse{Dir: dir, Source: source, fsys: fsys, byKey: map[string][]*candidate{}, Rejected: map[string]int{}}
	evalDirs := map[string]string{}
	var manifests []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			r.Rejected[fmt.Sprintf("unreadable: %v", err)]++
		case d.Name() == "meta_env.json":
			evalDirs[path.Base(path.Dir(p))] = path.Dir(p)
		case !d.IsDir() && strings.HasPrefix(d.Name(), "manifest_") && strings.HasSuffix(d.Name(), ".json"):
			manifests = append(manifests, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range manifests {
		c, why := r.candidate(p, evalDirs)
		if c == nil {
			r.Rejected[why]++
			continue
		}
		r.Found++
		r.byKey[c.m.Fingerprint.Key] = append(r.byKey[c.m.Fingerprint.Key], c)
	}
	for _, cs := range r.byKey {
		// The newest measurement first.
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].m.Finished.After(cs[b].m.Finished) })
	}
	return r, nil
}

func (r *Reuse) candidate(p string, evalDirs map[string]string) (*candidate, string) {
	b, err := fs.ReadFile(r.fsys, p)
	c := &candidate{manifest: p}
	if err == nil {
		err = json.Unmarshal(b, &c.m)
	}
	switch {
	case err != nil:
		return nil, whyUnread
	case !c.m.OK():
		return nil, whyStatus
	case c.m.Fingerprint == nil || c.m.Fingerprint.Key == "":
		return nil, whyNoFP
	case c.m.Fingerprint.Key != c.m.Fingerprint.ComputeKey():
		return nil, whyBadKey
	}
	c.agg = path.Join(path.Dir(p), result.AggFile(c.m.ResultFilename))
	ab, err := fs.ReadFile(r.fsys, c.agg)
	var agg result.Agg
	if err != nil || json.Unmarshal(ab, &agg) != nil || (agg.Ext != nil && agg.Ext.ResultFingerprint != "" && agg.Ext.ResultFingerprint != c.m.Fingerprint.Key) {
		return nil, whyNoAgg
	}
	c.powerValid = agg.Power != nil && agg.Power.Valid
	for name, dir := range evalDirs {
		if strings.HasPrefix(name, "eval_") && strings.HasSuffix(name, "_"+c.m.ResultFilename) {
			c.evalDir = dir
		}
	}
	return c, ""
}

// pick is the newest usable result for a point, or why there is none ("" when no result
// has its fingerprint at all).
func (r *Reuse) pick(pt *pointPlan, needEval, needPower bool, digests map[string]string) (*candidate, string) {
	why := ""
	for _, k := range pt.keys {
		for _, c := range r.byKey[k] {
			if d, ok := digests[pt.image]; ok && c.m.Fingerprint.ImageDigest != d {
				why = whyDigest
				continue
			}
			if needEval && (c.m.Eval == nil || c.evalDir == "") {
				why = whyNoEval
				continue
			}
			if needPower && !c.powerValid {
				why = whyNoPower
				continue
			}
			return c, ""
		}
	}
	return nil, why
}

// markReused picks the results to reuse for every planned point. A multi-node row is
// reused whole or not at all: its deployment renders the whole concurrency list, so a
// shorter list would be another launch.
func markReused(rows []*rowPlan, o Options) (map[*pointPlan]*candidate, map[string]int) {
	out, rejected := map[*pointPlan]*candidate{}, map[string]int{}
	if o.Reuse == nil {
		return out, rejected
	}
	for _, r := range rows {
		if r.err != nil {
			continue
		}
		picks := map[*pointPlan]*candidate{}
		for i := range r.points {
			pt := &r.points[i]
			c, why := o.Reuse.pick(pt, r.in.Row.RunEval && i == len(r.points)-1, o.RequirePower, o.ImageDigests)
			if c != nil {
				picks[pt] = c
			} else if why != "" {
				rejected[why]++
			}
		}
		if r.in.Row.Multinode() && len(picks) > 0 && len(picks) < len(r.points) {
			rejected[whyMultinode] += len(picks)
			continue
		}
		for k, v := range picks {
			out[k] = v
		}
	}
	return out, rejected
}

// ReuseSummary says what the plan reused.
type ReuseSummary struct {
	Dir    string `json:"dir"`
	Source string `json:"source,omitempty"`
	// Results is how many usable results the directory held.
	Results int `json:"results"`
	// Points are reused instead of run; SkippedJobs need not run at all.
	Points      int `json:"reused_points"`
	SkippedJobs int `json:"skipped_jobs"`
	// Rejected counts results with a planned point's fingerprint, or unusable ones, by reason.
	Rejected map[string]int `json:"rejected,omitempty"`
}

func (r *Reuse) summary(reused map[*pointPlan]*candidate, rejected map[string]int, js []*job) *ReuseSummary {
	s := &ReuseSummary{Dir: r.Dir, Source: r.Source, Results: r.Found, Points: len(reused), Rejected: map[string]int{}}
	for _, m := range []map[string]int{r.Rejected, rejected} {
		for k, v := range m {
			s.Rejected[k] += v
		}
	}
	for _, j := range js {
		if j.out.Skipped {
			s.SkippedJobs++
		}
	}
	if len(s.Rejected) == 0 {
		s.Rejected = nil
	}
	return s
}

// reusedPoints lists the results to copy, once each, in path order.
func reusedPoints(reused map[*pointPlan]*candidate) []*candidate {
	seen := map[string]bool{}
	var out []*candidate
	for _, c := range reused {
		if !seen[c.manifest] {
			seen[c.manifest] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].manifest < out[b].manifest })
	return out
}

// ReuseIndexFile lists, beside the copied results, what was reused from where.
const ReuseIndexFile = "reuse.json"

// CopyReused writes the reused results under dst as the sweep's own jobs would have left
// them, each in its artifact's directory (bmk_<stem>/agg_*.json and manifest_*.json, the
// eval's eval_<exp>_<stem>/ when the row has one), so collecting dst with the new results
// gives the same agg_bmk.json as running them. Each manifest gains "reused", its provenance;
// every other field, and the agg record, stay as measured. It returns how many results it
// copied.
func (p *Plan) CopyReused(dst string) (int, error) {
	if len(p.copies) == 0 {
		return 0, nil
	}
	r := p.reuse
	type entry struct {
		ResultFilename string `json:"result_filename"`
		Key            string `json:"key"`
		From           string `json:"from"`
	}
	index := struct {
		Source  string  `json:"source"`
		Dir     string  `json:"dir"`
		Results []entry `json:"results"`
	}{r.Source, r.Dir, []entry{}}
	for _, c := range p.copies {
		dir := filepath.Join(dst, filepath.FromSlash(artifactDir(c)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		agg, err := fs.ReadFile(r.fsys, c.agg)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path.Join(r.Dir, c.agg), err)
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(c.agg)), agg, 0o644); err != nil {
			return 0, err
		}
		man, err := r.withProvenance(c)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(c.manifest)), man, 0o644); err != nil {
			return 0, err
		}
		if c.evalDir != "" && c.m.Eval != nil {
			if err := copyDir(r.fsys, c.evalDir, filepath.Join(dst, path.Base(c.evalDir))); err != nil {
				return 0, err
			}
		}
		index.Results = append(index.Results, entry{c.m.ResultFilename, c.m.Fingerprint.Key, path.Join(r.Dir, c.manifest)})
	}
	b, _ := json.MarshalIndent(index, "", "  ")
	return len(p.copies), os.WriteFile(filepath.Join(dst, ReuseIndexFile), append(b, '\n'), 0o644)
}

// artifactDir is where a result goes: its bmk_* artifact directory as downloaded, else
// the one its job would have uploaded.
func artifactDir(c *candidate) string {
	parts := strings.Split(path.Dir(c.manifest), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.HasPrefix(parts[i], "bmk_") {
			return path.Join(parts[i:]...)
		}
	}
	return result.BenchArtifact(c.m.ResultFilename)
}

// withProvenance is the manifest as read with "reused" set: where the result was measured.
// A result reused before keeps its original source, and the sweep it came through is added
// to Via.
func (r *Reuse) withProvenance(c *candidate) ([]byte, error) {
	raw, err := fs.ReadFile(r.fsys, c.manifest)
	if err != nil {
		return nil, err
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(r.Dir, c.manifest), err)
	}
	prov := result.Provenance{Source: r.Source, Path: path.Join(r.Dir, c.manifest), Key: c.m.Fingerprint.Key}
	if prev := c.m.Reused; prev != nil {
		prov.Source, prov.Path, prov.Via = prev.Source, prev.Path, append(append([]string(nil), prev.Via...), r.Source)
	}
	pb, _ := json.Marshal(prov)
	b, err := obj.With("reused", pb).MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func copyDir(fsys fs.FS, src, dst string) error {
	return fs.WalkDir(fsys, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
