package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/engine/docker"
	"github.com/inferbench/inferbench/internal/engine/local"
	"github.com/inferbench/inferbench/internal/engine/slurm"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/readiness"
	"github.com/inferbench/inferbench/internal/recipe"
)

// containerAgent is where containers see the agent binary: the simulator image keeps it
// there, and a multi-node deployment's launch mounts it there for its launcher.
const containerAgent = "/agent"

func newBackend(o Options, f *inventory.Family) engine.Backend {
	switch f.Backend {
	case "docker":
		return docker.New(docker.Config{Pull: f.Docker.Pull, StopGrace: o.StopGrace, AuthConfig: o.DockerConfig})
	case "slurm":
		return slurm.New(slurm.Config{
			Runner: o.Exec, Starter: o.Starter, Environ: o.Environ,
			Partition: f.Slurm.Partition, Account: f.Slurm.Account, Exclusive: f.Slurm.Exclusive,
			TimeLimit: f.Slurm.Time, CPUsPerTask: f.Slurm.CPUsPerTask, Immediate: f.Slurm.Immediate,
			ExtraArgs: f.Slurm.ExtraArgs, SquashDir: f.SquashDir, ServerHost: f.ServerHost,
			Container: slurm.Container{MountHome: f.Container.MountHome, RemapRoot: f.Container.RemapRoot, Writable: f.Container.Writable},
			StopGrace: o.StopGrace, Log: o.Log,
		})
	default:
		return local.New(local.Config{Starter: o.Starter, Environ: o.Environ, StopGrace: o.StopGrace})
	}
}

// inContainer reports whether the server runs in a container on this family.
func (r *run) inContainer() bool {
	return r.fam.Backend == "docker" || (r.fam.Backend == "slurm" && !r.fam.NoContainer)
}

func (r *run) workspace() string {
	if r.fam.Workspace != "" {
		return r.fam.Workspace
	}
	return "/workspace"
}

// values are what the recipe's templates see for one point.
func (r *run) values(conc int) recipe.Values {
	row := r.o.Row
	v := recipe.Values{Model: row.Model, ModelPrefix: row.ModelPrefix, Precision: row.Precision, Framework: row.Framework,
		GPU: r.fam.GPU, SpecDecoding: row.SpecDecoding, TP: row.TP, EP: row.EP, DPAttn: row.DPAttn,
		MaxModelLen: row.MaxModelLen, ISL: row.ISL, OSL: row.OSL, Conc: conc, Port: r.port,
		Agent: r.o.AgentPath, Workdir: r.o.OutDir}
	if r.inContainer() {
		v.Agent, v.Workdir = containerAgent, r.workspace()
	}
	if r.fam.HFCache != nil {
		v.HFCache = r.fam.HFCache.Host
		if r.inContainer() {
			v.HFCache = r.fam.HFCache.Container
		}
	}
	if row.Multinode() {
		r.multinodeValues(&v)
	}
	return v
}

// multinodeValues fills the deployment layout of a multi-node row: each side's GPUs
// (num-worker × tp unless the row says otherwise) and nodes (PREFILL_NODES/DECODE_NODES when
// the row gives them, else the side's GPUs over the family's GPUs per node, rounded up).
func (r *run) multinodeValues(v *recipe.Values) {
	row := r.o.Row
	gpn := r.fam.NodeGPUs()
	side := func(w *Workers, gpus int, nodesKey string) recipe.Side {
		nodes := (gpus + gpn - 1) / gpn
		if n, err := strconv.Atoi(row.setting(nodesKey)); err == nil && n > 0 {
			nodes = n
		}
		return recipe.Side{NumWorkers: w.NumWorkers, TP: w.TP, EP: w.EP, DPAttn: w.DPAttn, GPUs: gpus, Nodes: nodes}
	}
	v.Multinode = true
	v.Prefill = side(row.Prefill, row.PrefillGPUs(), "PREFILL_NODES")
	v.Decode = side(row.Decode, row.DecodeGPUs(), "DECODE_NODES")
	v.TotalGPUs, v.GPUsPerNode, v.Nodes = v.Prefill.GPUs+v.Decode.GPUs, gpn, v.Prefill.Nodes+v.Decode.Nodes
	v.ConcList = joinConcs(row.Conc, "x")
	v.Settings = map[string]string{}
	for _, st := range row.Settings() {
		v.Settings[st.Key] = st.Value
	}
	// Per-side templates read .TP/.EP/.DPAttn as the decode side's (the one serving tokens).
	v.TP, v.EP, v.DPAttn = row.Decode.TP, row.Decode.EP, row.Decode.DPAttn
}

func joinConcs(c Concs, sep string) string {
	s := make([]string, len(c))
	for i, n := range c {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}

// spec turns a rendered recipe into a backend launch.
func (r *run) spec(rend recipe.Rendered, v recipe.Values) (engine.Spec, error) {
	r.launches++
	s := engine.Spec{
		Name:  fmt.Sprintf("inferbench-%s-%d", r.o.RunID, r.launches),
		RunID: r.o.RunID, Argv: rend.Argv, Port: rend.Port, GPUs: rend.GPUs, Nodes: rend.Nodes, GPUVendor: r.fam.Vendor,
		LogPath: r.logPath, Workdir: v.Workdir,
		Labels: map[string]string{"io.inferbench.recipe": rend.Recipe, "io.inferbench.runner": r.o.RunnerName},
	}
	if s.GPUVendor == "none" {
		s.GPUVendor = ""
	}
	// The engine's environment: the reference's variables (minus the per-point ones, so a
	// server can serve several points), the family's, then the recipe's.
	row := r.o.Row
	env := map[string]string{
		"MODEL": row.Model, "TP": strconv.Itoa(row.TP), "EP_SIZE": strconv.Itoa(row.EP),
		"DP_ATTENTION": strconv.FormatBool(row.DPAttn), "ISL": strconv.Itoa(row.ISL), "OSL": strconv.Itoa(row.OSL),
		"MAX_MODEL_LEN": strconv.Itoa(row.MaxModelLen), "PORT": strconv.Itoa(rend.Port),
	}
	if row.Multinode() {
		multinodeEnv(env, row, v)
	}
	if v.HFCache != "" {
		env["HF_HUB_CACHE"] = v.HFCache
	}
	for k, val := range r.fam.Env {
		env[k] = val
	}
	for _, kv := range rend.Env {
		k, val, _ := strings.Cut(kv, "=")
		env[k] = val
	}
	if r.inContainer() {
		// Containers do not inherit the agent's environment: forward the secrets engines need.
		for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
			if val := lookup(r.o.Environ, k); val != "" {
				env[k] = val
			}
		}
		s.Image = rend.Image
		s.Mounts = append(s.Mounts, engine.Mount{Host: r.o.OutDir, Container: r.workspace()})
		if m := r.fam.HFCache; m != nil {
			s.Mounts = append(s.Mounts, engine.Mount{Host: m.Host, Container: m.Container, ReadOnly: m.ReadOnly})
		}
		for _, m := range r.fam.Mounts {
			s.Mounts = append(s.Mounts, engine.Mount{Host: m.Host, Container: m.Container, ReadOnly: m.ReadOnly})
		}
		if r.rec.Deployment != nil && r.o.AgentPath != "" {
			// A deployment runs under the agent's own launcher, which an engine image lacks.
			s.Mounts = append(s.Mounts, engine.Mount{Host: r.o.AgentPath, Container: containerAgent, ReadOnly: true})
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Env = append(s.Env, k+"="+env[k])
	}
	d := r.fam.Docker
	shm, err := inventory.ParseSize(d.ShmSize)
	if err != nil {
		return s, err
	}
	s.ShmSize, s.IPCHost, s.Privileged, s.CapAdd, s.SecurityOpt = shm, d.IPCHost, d.Privileged, d.CapAdd, d.SecurityOpt
	for _, name := range sortedKeys(d.Ulimits) {
		s.Ulimits = append(s.Ulimits, engine.Ulimit{Name: name, Soft: d.Ulimits[name], Hard: d.Ulimits[name]})
	}
	return s, nil
}

// multinodeEnv is the reference's multi-node contract (spec §1.3) as the deployment sees
// it: the worker layout, the whole CONC_LIST (space-joined), IS_MULTINODE, and every
// additional setting exported verbatim. There is no single TP/EP/DP_ATTENTION.
func multinodeEnv(env map[string]string, row Row, v recipe.Values) {
	delete(env, "TP")
	delete(env, "EP_SIZE")
	delete(env, "DP_ATTENTION")
	for _, s := range []struct {
		name string
		w    *Workers
		val  recipe.Side
	}{{"PREFILL", row.Prefill, v.Prefill}, {"DECODE", row.Decode, v.Decode}} {
		env[s.name+"_NUM_WORKERS"] = strconv.Itoa(s.w.NumWorkers)
		env[s.name+"_TP"] = strconv.Itoa(s.w.TP)
		env[s.name+"_EP"] = strconv.Itoa(s.w.EP)
		env[s.name+"_DP_ATTN"] = strconv.FormatBool(s.w.DPAttn)
		env[s.name+"_GPUS"] = strconv.Itoa(s.val.GPUs)
		env[s.name+"_NODES"] = strconv.Itoa(s.val.Nodes)
	}
	env["CONC_LIST"] = joinConcs(row.Conc, " ")
	env["IS_MULTINODE"] = "true"
	env["DISAGG"] = strconv.FormatBool(row.Disagg)
	env["GPUS_PER_NODE"] = strconv.Itoa(v.GPUsPerNode)
	for _, st := range row.Settings() {
		env[st.Key] = st.Value
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func lookup(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// ensureServer makes a server matching rend available: the running one when its rendered
// launch is identical, a fresh one otherwise. It reports whether it reused.
func (r *run) ensureServer(ctx context.Context, rend recipe.Rendered, v recipe.Values, ph *phases) (bool, error) {
	fp := rend.Fingerprint()
	if r.srv != nil {
		select {
		case <-r.srv.Done():
			fmt.Fprintf(r.o.Log, "conc %d: server %s has exited (%s): starting a new one\n", v.Conc, r.srv.Info().Name, r.srv.Exit())
			r.stopServer(ctx, ph)
		default:
			if fp == r.srvFP {
				fmt.Fprintf(r.o.Log, "conc %d: reusing server %s: rendered launch identical (fingerprint %s)\n", v.Conc, r.srv.Info().Name, fp)
				return true, nil
			}
			fmt.Fprintf(r.o.Log, "conc %d: restarting server: rendered launch differs (%s)\n", v.Conc, r.srvSpec.Diff(rend))
			r.stopServer(ctx, ph)
		}
	}
	return false, r.startServer(ctx, rend, v, ph)
}

func (r *run) stopServer(ctx context.Context, ph *phases) {
	end := ph.begin("stop")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	err := r.srv.Stop(sctx)
	end(err)
	r.srv, r.srvFP = nil, ""
}

func (r *run) startServer(ctx context.Context, rend recipe.Rendered, v recipe.Values, ph *phases) error {
	for path, content := range rend.Files {
		if err := os.WriteFile(filepath.Join(r.o.OutDir, path), []byte(content), 0o644); err != nil {
			return errorf(KindInternal, "write engine config %s: %v", path, err)
		}
	}
	s, err := r.spec(rend, v)
	if err != nil {
		return errorf(KindUsage, "inventory: %v", err)
	}
	logFrom := r.markLog(s, rend)
	end := ph.begin("start")
	fmt.Fprintf(r.o.Log, "conc %d: starting %s server %s: %s\n", v.Conc, r.backend.Name(), s.Name, strings.Join(rend.Argv, " "))
	srv, err := r.backend.Start(ctx, s)
	end(err)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindCancelled, Err: fmt.Errorf("cancelled while starting the server: %w", context.Cause(ctx))}
		}
		return &Error{Kind: KindEngine, Err: fmt.Errorf("starting the server with the %s backend: %w", r.backend.Name(), err)}
	}
	r.srv, r.srvFP, r.srvSpec = srv, rend.Fingerprint(), rend
	info := srv.Info()
	fmt.Fprintf(r.o.Log, "conc %d: server %s is %s %s", v.Conc, info.Name, info.Backend, info.ID)
	if info.Node != "" {
		fmt.Fprintf(r.o.Log, " on node %s", info.Node)
	}
	fmt.Fprintf(r.o.Log, ", serving at %s\n", r.baseURL())
	end = ph.begin("ready")
	err = readiness.Wait(ctx, serverView{srv}, readiness.Config{
		BaseURL: r.baseURL(), Health: rend.Health, Endpoint: rend.Endpoint, Model: r.o.Row.Model,
		Deadline: rend.ReadyTimeout, Interval: r.o.ReadyInterval, Fatal: fatal(rend.FatalLog), LogFrom: logFrom,
		Progress: r.o.Log,
	})
	end(err)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindCancelled, Err: fmt.Errorf("cancelled while waiting for the server: %w", context.Cause(ctx))}
		}
		return &Error{Kind: KindEngine, Err: fmt.Errorf("server %s (%s %s) did not become ready: %w", info.Name, info.Backend, info.ID, err)}
	}
	r.version = EngineVersion(ctx, r.baseURL())
	return nil
}

// markLog writes a header into the shared server log so each launch's output is findable,
// and returns where this launch's output starts.
func (r *run) markLog(s engine.Spec, rend recipe.Rendered) int64 {
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0
	}
	defer f.Close()
	fmt.Fprintf(f, "==== inferbench: launch %s at %s (recipe %s, fingerprint %s) ====\n", s.Name, time.Now().UTC().Format(time.RFC3339), rend.Recipe, rend.Fingerprint())
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

func (r *run) baseURL() string {
	host := "127.0.0.1"
	if r.srv != nil && r.srv.Info().Host != "" {
		host = r.srv.Info().Host
	}
	if r.fam.ServerHost != "" {
		host = r.fam.ServerHost
	}
	return fmt.Sprintf("http://%s:%d", host, r.port)
}

func fatal(pats []string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range pats {
		if re, err := regexp.Compile(p); err == nil { // validated when the recipe was loaded
			out = append(out, re)
		}
	}
	return out
}

// serverView adapts a engine.Server to what readiness watches.
type serverView struct{ engine.Server }

func (s serverView) ExitString() string { return s.Exit().String() }
