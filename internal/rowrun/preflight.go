package rowrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/result"
)

// preflight checks, before anything is launched, what would otherwise stop a point half-way
// or lose data: every point's load settings within the limits, result names that stay
// inside the output directory and do not collide, and no earlier results that would be
// overwritten silently.
func (r *run) preflight() error {
	var errs []error
	if v, ok := r.backend.(engine.Validator); ok {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if r.o.NumPrompts < 0 || r.o.NumWarmups < -1 {
		errs = append(errs, fmt.Errorf("number of prompts %d must not be negative (0: 10 x conc) and warm-ups %d not below -1 (-1: 2 x conc)", r.o.NumPrompts, r.o.NumWarmups))
	}
	writer := map[string]string{result.ServerLogFile: "the server log"}
	var stems []string
	for _, l := range r.plan.Launches {
		for _, path := range sortedKeys(l.Rendered.Files) {
			if !filepath.IsLocal(path) {
				errs = append(errs, fmt.Errorf("recipe %s: engine config file %q must be a relative path inside the output directory", l.Rendered.Recipe, path))
			}
		}
		for _, pt := range l.Points {
			conc, stem := pt.Conc, pt.ResultFilename
			if err := result.CheckStem(stem); err != nil {
				errs = append(errs, fmt.Errorf("conc %d: %w (from --result-filename/RESULT_FILENAME, or the row's exp-name and the runner name)", conc, err))
				continue
			}
			cfg := r.loadConfig(pt.Client, stem)
			cfg.Normalize()
			if err := cfg.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("conc %d: load settings: %w", conc, err))
			}
			for _, f := range result.PointFiles(stem) {
				if w, ok := writer[f]; ok {
					errs = append(errs, fmt.Errorf("conc %d: its file %s is also written by %s: each point needs files of its own", conc, f, w))
					continue
				}
				writer[f] = "conc " + fmt.Sprint(conc)
			}
			stems = append(stems, stem)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return &Error{Kind: KindUsage, Err: err}
	}
	if r.o.Overwrite {
		return nil
	}
	var found []string
	for _, stem := range stems {
		for _, f := range result.PointFiles(stem) {
			if _, err := os.Lstat(filepath.Join(r.o.OutDir, f)); err == nil {
				found = append(found, f)
			}
		}
	}
	if len(found) > 0 {
		sort.Strings(found)
		return errorf(KindUsage, "%s already holds results of this row from an earlier run (%s); they are left as they are. "+
			"Use another --out, or --overwrite to replace them", r.o.OutDir, strings.Join(found, ", "))
	}
	return nil
}

// clearEarlier removes the files an earlier run left for stem (with Overwrite), so the
// directory ends up holding this run's outcome of the point and nothing older beside it.
func (r *run) clearEarlier(stem string) error {
	if !r.o.Overwrite {
		return nil
	}
	var errs []error
	for _, f := range result.PointFiles(stem) {
		if err := os.Remove(filepath.Join(r.o.OutDir, f)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
