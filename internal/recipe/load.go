package recipe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Set is a loaded, validated recipe file.
type Set struct {
	Recipes []Recipe
}

type fileDoc struct {
	Recipes []Recipe `yaml:"recipes"`
	// Extra catches other top-level keys: only x-* keys (holders of YAML anchors) are allowed.
	Extra map[string]yaml.Node `yaml:",inline"`
}

// LoadFile reads and validates one recipes file.
func LoadFile(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// LoadFiles reads several files (configs/recipes/*.yaml) into one set; a recipe may extend
// a recipe of another file of the set.
func LoadFiles(paths ...string) (*Set, error) {
	all := &Set{}
	var errs []error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, err := decode(p, b)
		errs = append(errs, err)
		if s != nil {
			all.Recipes = append(all.Recipes, s.Recipes...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := all.finish(); err != nil {
		return nil, err
	}
	return all, nil
}

// Parse decodes and validates recipes; every problem is reported with file:line:col.
func Parse(name string, b []byte) (*Set, error) {
	s, err := decode(name, b)
	if s == nil {
		return nil, err
	}
	if err := errors.Join(err, s.finish()); err != nil {
		return nil, err
	}
	return s, nil
}

// decode reads one file's recipes as written (bases not yet applied).
func decode(name string, b []byte) (*Set, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var doc fileDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlErr(name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlErr(name, err)
	}
	positions(name, &root, doc.Recipes)
	var errs []error
	if len(root.Content) > 0 {
		top := root.Content[0].Content
		for i := 0; i+1 < len(top); i += 2 {
			if k := top[i]; k.Value != "recipes" && !strings.HasPrefix(k.Value, "x-") {
				errs = append(errs, fmt.Errorf("%s:%d:%d: unknown top-level key %q (want recipes, or x-* for shared anchors)", name, k.Line, k.Column, k.Value))
			}
		}
	}
	for i := range doc.Recipes {
		doc.Recipes[i].BaseOnly = doc.Recipes[i].Match == nil
	}
	return &Set{Recipes: doc.Recipes}, errors.Join(errs...)
}

// finish applies bases and validates every recipe.
func (s *Set) finish() error {
	errs := []error{s.validateNames()}
	errs = append(errs, s.resolveBases()...)
	for i := range s.Recipes {
		errs = append(errs, s.Recipes[i].validate()...)
	}
	return errors.Join(errs...)
}

// yamlErr prefixes decoder messages ("line 3: field x not found") with the file name.
func yamlErr(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, m := range te.Errors {
			errs = append(errs, fmt.Errorf("%s: %s", name, m))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func positions(file string, root *yaml.Node, rs []Recipe) {
	if len(root.Content) == 0 {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "recipes" {
			continue
		}
		for j, item := range m.Content[i+1].Content {
			if j < len(rs) {
				rs[j].Pos = Pos{File: file, Line: item.Line, Col: item.Column}
			}
		}
	}
}

func (s *Set) validateNames() error {
	seen := map[string]Pos{}
	var errs []error
	for _, r := range s.Recipes {
		if p, ok := seen[r.Name]; ok && r.Name != "" {
			errs = append(errs, fmt.Errorf("%s: recipe name %q already used at %s; names must be unique", r.Pos, r.Name, p))
		}
		seen[r.Name] = r.Pos
	}
	return errors.Join(errs...)
}

var (
	envKeyRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate checks one recipe (bases applied), including a trial render of every template,
// so that a typo in a field name is found when the file is loaded rather than on a GPU
// node. A base-only recipe is checked as far as it can be without a row's match.
func (r *Recipe) validate() []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: recipe %q: %s", r.Pos, r.Name, fmt.Sprintf(format, a...)))
	}
	if r.Name == "" {
		bad("missing name")
	}
	if !r.BaseOnly && r.Match.Framework == "" {
		bad("match.framework is required (a recipe without match is only a base for others)")
	}
	switch {
	case r.Deployment != nil:
		if !r.Multinode {
			bad("deployment needs multinode: true (it describes a disaggregated deployment)")
		}
		if len(r.Command) > 0 {
			bad("a deployment runs under the agent's own launcher: remove command")
		}
		for _, e := range r.Deployment.validate() {
			bad("%v", e)
		}
	case !r.BaseOnly && len(r.Command) == 0:
		bad("command is required (the program that serves the model)")
	}
	switch r.ClientBackend {
	case "", "vllm", "openai":
	default:
		bad("client-backend %q: want vllm or openai", r.ClientBackend)
	}
	switch r.PromptForm {
	case "", PromptTokenIDs, PromptText:
	default:
		bad("prompt-form %q: want %s or %s", r.PromptForm, PromptTokenIDs, PromptText)
	}
	for _, p := range []string{r.Health, r.Endpoint} {
		if p != "" && !strings.HasPrefix(p, "/") {
			bad("path %q must start with /", p)
		}
	}
	for _, re := range r.FatalLog {
		if _, err := regexp.Compile(re); err != nil {
			bad("fatal-log %q: %v", re, err)
		}
	}
	for k := range r.Env {
		if !envKeyRE.MatchString(k) {
			bad("env key %q is not a valid variable name", k)
		}
	}
	seen := map[string]bool{}
	for _, v := range r.Vars {
		if !varNameRE.MatchString(v.Name) {
			bad("var %q (line %d): names are letters, digits and _ (they are read as .Var.<name>)", v.Name, v.Line)
		}
		if seen[v.Name] {
			bad("var %q (line %d) is declared twice", v.Name, v.Line)
		}
		seen[v.Name] = true
	}
	checkFiles(r.Files, "files", bad)
	for i, st := range r.Setup {
		checkStep(st, fmt.Sprintf("setup[%d]", i), bad)
	}
	for i, o := range r.Overrides {
		where := fmt.Sprintf("overrides[%d]", i)
		for k := range o.Env {
			if !envKeyRE.MatchString(k) {
				bad("%s: env key %q is not a valid variable name", where, k)
			}
		}
		for _, v := range o.Vars {
			if r.Vars.index(v.Name) < 0 {
				bad("%s: var %q (line %d) is not declared in the recipe's vars: declare it there with its default", where, v.Name, v.Line)
			}
		}
		if o.When.ConcMin > 0 && o.When.ConcMax > 0 && o.When.ConcMin > o.When.ConcMax {
			bad("%s: conc-min %d > conc-max %d", where, o.When.ConcMin, o.When.ConcMax)
		}
		checkFiles(o.Files, where+".files", bad)
	}
	sample := SampleValues()
	vars, err := r.sampleVars(sample)
	if err != nil {
		bad("%v", err)
		return errs
	}
	sample.Var = vars
	for _, t := range r.templates() {
		if _, err := render(t, sample); err != nil {
			bad("%v", err)
		}
	}
	for _, f := range r.allFiles() {
		if f.YAML != nil {
			if _, err := renderYAML(f.YAML.Node, sample); err != nil {
				bad("file %s: %v", f.Path, err)
			}
		}
	}
	if len(errs) == 0 && !r.BaseOnly {
		// A whole trial render also checks what the templates must produce (counts).
		if _, err := r.Render(SampleValues(), "image"); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func checkFiles(fs []File, where string, bad func(string, ...any)) {
	for _, f := range fs {
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, "..") {
			bad("%s: path %q must be relative to the work directory", where, f.Path)
		}
		if (f.YAML != nil) == (f.Content != "") {
			bad("%s: file %q needs exactly one of content (text) and yaml (structured)", where, f.Path)
		}
		if f.YAML != nil && content(f.YAML.Node).Kind != yaml.MappingNode {
			bad("%s: file %q: yaml must be a mapping", where, f.Path)
		}
	}
}

func checkStep(st Step, where string, bad func(string, ...any)) {
	kinds := 0
	for _, set := range []bool{st.Run != nil, st.DeleteLine != nil, st.CopyEnv != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		bad("%s: a step is exactly one of run (a command), delete-line (a source patch) or copy-env", where)
	case st.CopyEnv != nil && (!envKeyRE.MatchString(st.CopyEnv.From) || !envKeyRE.MatchString(st.CopyEnv.To)):
		bad("%s: copy-env from %q to %q: both must be variable names", where, st.CopyEnv.From, st.CopyEnv.To)
	case st.Run != nil && len(st.Run) == 0:
		bad("%s: run needs a command", where)
	case st.DeleteLine != nil && (!strings.HasPrefix(st.DeleteLine.File, "/") || st.DeleteLine.Line < 1):
		bad("%s: delete-line needs an absolute file and a line number of at least 1", where)
	}
}

// sampleVars evaluates every var template, the overrides' too, with sample values, so a
// template reading .Var.x can be checked whichever override sets it. The recipe's own
// value gives each var its sample.
func (r *Recipe) sampleVars(v Values) (map[string]any, error) {
	out := map[string]any{}
	eval := func(vs Vars) error {
		for _, x := range vs {
			v.Var = out
			val, err := evalVar(x, v)
			if err != nil {
				return err
			}
			if _, seen := out[x.Name]; !seen {
				out[x.Name] = val
			}
		}
		return nil
	}
	if err := eval(r.Vars); err != nil {
		return nil, err
	}
	for _, o := range r.Overrides {
		if err := eval(o.Vars); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// allFiles lists the recipe's files and its overrides'.
func (r *Recipe) allFiles() []File {
	fs := append([]File(nil), r.Files...)
	for _, o := range r.Overrides {
		fs = append(fs, o.Files...)
	}
	return fs
}

// templates lists every templated string of the recipe.
func (r *Recipe) templates() []string {
	ts := append(append([]string{}, r.Command...), r.Args...)
	ts = append(ts, r.GPUs, r.Nodes, r.Image)
	for _, k := range sortedKeys(r.Env) {
		ts = append(ts, r.Env[k])
	}
	for _, f := range r.Files {
		ts = append(ts, f.Content)
	}
	for _, st := range r.Setup {
		ts = append(ts, st.Run...)
	}
	for _, o := range r.Overrides {
		ts = append(ts, o.Args...)
		for _, k := range sortedKeys(o.Env) {
			ts = append(ts, o.Env[k])
		}
		for _, f := range o.Files {
			ts = append(ts, f.Content)
		}
	}
	return ts
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
