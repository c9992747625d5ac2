package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/recipe"
)

// changedSettings names the settings that differ between two rendered launches, without
// their values, so relaunches caused by the same setting count together: "--max-num-seqs",
// "env SGLANG_X", "extra-llm-api-config.yml: max_batch_size", "image".
func changedSettings(a, b recipe.Rendered) []string {
	set := map[string]bool{}
	if a.Image != b.Image {
		set["image"] = true
	}
	for _, n := range argNames(a.Argv, b.Argv) {
		set[n] = true
	}
	for _, kv := range symDiff(a.Env, b.Env) {
		k, _, _ := strings.Cut(kv, "=")
		set["env "+k] = true
	}
	files := map[string]bool{}
	for f := range a.Files {
		files[f] = true
	}
	for f := range b.Files {
		files[f] = true
	}
	for f := range files {
		if a.Files[f] == b.Files[f] {
			continue
		}
		changed := false
		for _, l := range symDiff(lines(a.Files[f]), lines(b.Files[f])) {
			k, _, ok := strings.Cut(l, ":")
			if !ok {
				k, _, _ = strings.Cut(l, "=")
			}
			set[f+": "+strings.TrimSpace(strings.TrimPrefix(k, "- "))] = true
			changed = true
		}
		if !changed {
			set[f] = true
		}
	}
	if fmt.Sprint(a.Setup) != fmt.Sprint(b.Setup) {
		set["setup steps"] = true
	}
	if a.GPUs != b.GPUs || a.Nodes != b.Nodes {
		set["gpus"] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// argNames names the command-line settings that differ: --flag=value by its flag, a value
// that follows its flag ("--flag value") by that flag, anything else by itself.
func argNames(a, b []string) []string {
	name := func(l []string, i int) string {
		w := l[i]
		if k, _, ok := strings.Cut(w, "="); ok && strings.HasPrefix(k, "-") {
			return k
		}
		if i > 0 && strings.HasPrefix(l[i-1], "-") && !strings.HasPrefix(w, "-") {
			return l[i-1]
		}
		return w
	}
	var out []string
	if len(a) == len(b) {
		for i := range a {
			if a[i] != b[i] {
				out = append(out, name(a, i), name(b, i))
			}
		}
		return out
	}
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	for i := range a {
		if !in(b, a[i]) {
			out = append(out, name(a, i))
		}
	}
	for i := range b {
		if !in(a, b[i]) {
			out = append(out, name(b, i))
		}
	}
	return out
}

// symDiff lists the strings in only one of a and b.
func symDiff(a, b []string) []string {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	var out []string
	for s, n := range count {
		if n != 0 {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
