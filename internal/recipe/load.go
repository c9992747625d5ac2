package recipe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/template"

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

// LoadFiles reads several files (configs/recipes/*.yaml) into one set.
func LoadFiles(paths ...string) (*Set, error) {
	all := &Set{}
	var errs []error
	for _, p := range paths {
		s, err := LoadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all.Recipes = append(all.Recipes, s.Recipes...)
	}
	if err := all.validateNames(); err != nil {
		errs = append(errs, err)
	}
	return all, errors.Join(errs...)
}

// Parse decodes and validates recipes; every problem is reported with file:line:col.
func Parse(name string, b []byte) (*Set, error) {
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
	s := &Set{Recipes: doc.Recipes}
	var errs []error
	if len(root.Content) > 0 {
		top := root.Content[0].Content
		for i := 0; i+1 < len(top); i += 2 {
			if k := top[i]; k.Value != "recipes" && !strings.HasPrefix(k.Value, "x-") {
				errs = append(errs, fmt.Errorf("%s:%d:%d: unknown top-level key %q (want recipes, or x-* for shared anchors)", name, k.Line, k.Column, k.Value))
			}
		}
	}
	for i := range s.Recipes {
		errs = append(errs, s.Recipes[i].validate()...)
	}
	if err := s.validateNames(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
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

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate checks one recipe, including a trial render of every template, so that a typo
// in a field name is found when the file is loaded rather than on a GPU node.
func (r *Recipe) validate() []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: recipe %q: %s", r.Pos, r.Name, fmt.Sprintf(format, a...)))
	}
	if r.Name == "" {
		bad("missing name")
	}
	if r.Match.Framework == "" {
		bad("match.framework is required")
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
	case len(r.Command) == 0:
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
	for i, o := range r.Overrides {
		for k := range o.Env {
			if !envKeyRE.MatchString(k) {
				bad("overrides[%d]: env key %q is not a valid variable name", i, k)
			}
		}
		if o.When.ConcMin > 0 && o.When.ConcMax > 0 && o.When.ConcMin > o.When.ConcMax {
			bad("overrides[%d]: conc-min %d > conc-max %d", i, o.When.ConcMin, o.When.ConcMax)
		}
	}
	for _, f := range r.Files {
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, "..") {
			bad("files: path %q must be relative to the work directory", f.Path)
		}
	}
	for _, t := range r.templates() {
		if _, err := render(t, SampleValues()); err != nil {
			bad("%v", err)
		}
	}
	if len(errs) == 0 {
		// A whole trial render also checks what the templates must produce (counts).
		if _, err := r.Render(SampleValues(), "image"); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
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
	for _, o := range r.Overrides {
		ts = append(ts, o.Args...)
		for _, k := range sortedKeys(o.Env) {
			ts = append(ts, o.Env[k])
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

func render(text string, v Values) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New("").Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return "", fmt.Errorf("template %q: %v", text, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("template %q: %v", text, err)
	}
	return b.String(), nil
}
