package rowrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/engine/docker"
	"github.com/inferbench/inferbench/internal/engine/local"
	"github.com/inferbench/inferbench/internal/engine/slurm"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/readiness"
	"github.com/inferbench/inferbench/internal/recipe"
)

// containerAgent is where the simulator image keeps the agent binary.
const containerAgent = "/agent"

func newBackend(o Options, f *inventory.Family, owner string) engine.Backend {
	switch f.Backend {
	case "docker":
		// The daemon (DOCKER_HOST, docker contexts) and the registry logins are the agent's
		// environment's, as for the docker CLI on the runner.
		getenv := func(k string) string { return lookup(o.Environ, k) }
		return docker.New(docker.Config{Pull: f.Docker.Pull, StopGrace: o.StopGrace, Getenv: getenv, Exec: o.Exec, Owner: owner})
	case "slurm":
		return slurm.New(slurm.Config{
			Exec: o.Exec, Starter: o.Starter, Environ: o.Environ,
			Partition: f.Slurm.Partition, Account: f.Slurm.Account, Exclusive: f.Slurm.Exclusive,
			TimeLimit: f.Slurm.Time, CPUsPerTask: f.Slurm.CPUsPerTask, Immediate: f.Slurm.Immediate,
			ExtraArgs: f.Slurm.ExtraArgs, SquashDir: f.SquashDir, ServerHost: f.ServerHost,
			Container: slurm.Container{MountHome: f.Container.MountHome, RemapRoot: f.Container.RemapRoot, Writable: f.Container.Writable},
			StopGrace: o.StopGrace, Log: o.Log, Owner: owner,
		})
	default:
		return local.New(local.Config{Starter: o.Starter, Environ: o.Environ, StopGrace: o.StopGrace})
	}
}

// ensureServer makes the server of launch l available: the running one when its rendered
// launch is identical, a fresh one otherwise. It reports whether it reused.
func (r *run) ensureServer(ctx context.Context, l *Launch, conc int, ph *phases) (bool, error) {
	if r.srv != nil {
		dead := ""
		select {
		case <-r.srv.Done():
			dead = r.srv.Exit().String()
		default:
			// Done may lag behind a death; never start a point on a dead server.
			if c, ok := r.srv.(engine.Checker); ok {
				if err := c.Alive(ctx); err != nil {
					dead = err.Error()
				}
			}
		}
		switch {
		case dead != "":
			fmt.Fprintf(r.o.Log, "conc %d: server %s is no longer running (%s): starting a new one\n", conc, r.srv.Info().Name, dead)
			r.stopServer(ctx, ph)
		case l.Fingerprint == r.srvFP:
			fmt.Fprintf(r.o.Log, "conc %d: reusing server %s: rendered launch identical (fingerprint %s)\n", conc, r.srv.Info().Name, l.Fingerprint)
			return true, nil
		default:
			fmt.Fprintf(r.o.Log, "conc %d: restarting server: rendered launch differs (%s)\n", conc, r.srvSpec.Diff(l.Rendered))
			r.stopServer(ctx, ph)
		}
	}
	return false, r.startServer(ctx, l, conc, ph)
}

func (r *run) stopServer(ctx context.Context, ph *phases) {
	r.stopPowerStream()
	end := ph.begin("stop")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	err := r.srv.Stop(sctx)
	end(err)
	r.srv, r.srvFP = nil, ""
	r.removeScratch()
}

// startSpec is the planned backend launch made unique to this start (each start, restarts
// after a crash included, gets its own name) with the tokens forwarded from the agent's
// environment, which plans never hold.
func (r *run) startSpec(l *Launch) (engine.Spec, error) {
	r.launches++
	s := l.Spec
	s.Name = fmt.Sprintf("inferbench-%s-%d", r.o.RunID, r.launches)
	// How the agent recognises its server and a later run its leftovers; per start, so
	// never part of a plan. Last in Env, so nothing can override them.
	s.Token, s.Owner = newToken(), r.owner
	s.Env = append([]string(nil), s.Env...)
	for _, k := range l.Engine.ForwardEnv {
		if v := lookup(r.o.Environ, k); v != "" {
			s.Env = append(s.Env, k+"="+v)
		}
	}
	s.Env = append(s.Env, engine.EnvLaunch+"="+s.Token, engine.EnvOwner+"="+s.Owner)
	s.Mounts = append([]engine.Mount(nil), s.Mounts...)
	for _, sc := range l.Scratch {
		dir, err := os.MkdirTemp(filepath.Dir(sc.Prefix), filepath.Base(sc.Prefix)+"*")
		if err != nil {
			return s, fmt.Errorf("scratch directory for %s: %w", sc.Container, err)
		}
		r.scratch = append(r.scratch, dir)
		for i := range s.Mounts {
			if s.Mounts[i].Container == sc.Container {
				s.Mounts[i].Host = dir
			}
		}
	}
	return s, nil
}

// removeScratch removes the scratch directories of the stopped server.
func (r *run) removeScratch() {
	for _, d := range r.scratch {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(r.o.Log, "warning: remove scratch directory %s: %v\n", d, err)
		}
	}
	r.scratch = nil
}

// hostSetup applies the family's host settings before the first launch, as the node's
// launcher did; a failure is reported and the run goes on, since the engine still works.
func (r *run) hostSetup(ctx context.Context) {
	for _, argv := range r.plan.Runner.HostSetup {
		res, err := r.o.Exec.Run(ctx, execx.Cmd{Name: argv[0], Args: argv[1:]})
		if err != nil {
			fmt.Fprintf(r.o.Log, "warning: host setup %s failed (%v): %s\n", strings.Join(argv, " "), err, strings.TrimSpace(string(res.Stderr)))
		}
	}
}

func (r *run) startServer(ctx context.Context, l *Launch, conc int, ph *phases) error {
	rend := l.Rendered
	for path, content := range rend.Files {
		if !filepath.IsLocal(path) {
			return errorf(KindUsage, "recipe %s: engine config file %q must be a relative path inside the output directory", rend.Recipe, path)
		}
		if err := os.WriteFile(filepath.Join(r.o.OutDir, path), []byte(content), 0o644); err != nil {
			return errorf(KindInternal, "write engine config %s: %w", path, err)
		}
	}
	s, err := r.startSpec(l)
	if err != nil {
		return &Error{Kind: KindInternal, Err: err}
	}
	if host, ok := r.serverHostKnown(); ok {
		if err := r.checkPort(ctx, host); err != nil {
			return err
		}
	} else {
		s.CheckPort = r.checkPort
	}
	logFrom := r.markLog(s, rend)
	end := ph.begin("start")
	fmt.Fprintf(r.o.Log, "conc %d: starting %s server %s: %s\n", conc, r.backend.Name(), s.Name, strings.Join(s.Argv, " "))
	srv, err := r.backend.Start(ctx, s)
	end(err)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindCancelled, Err: fmt.Errorf("cancelled while starting the server: %w", context.Cause(ctx))}
		}
		return &Error{Kind: KindEngine, Err: fmt.Errorf("starting the server with the %s backend: %w", r.backend.Name(), err)}
	}
	r.srv, r.srvFP, r.srvSpec, r.token = srv, l.Fingerprint, rend, s.Token
	r.startPowerStream(ctx, l.Values)
	info := srv.Info()
	fmt.Fprintf(r.o.Log, "conc %d: server %s is %s %s", conc, info.Name, info.Backend, info.ID)
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
	end = ph.begin("identity")
	how, err := r.verifyIdentity(ctx, rend.Health, s.Token)
	end(err)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindCancelled, Err: fmt.Errorf("cancelled while checking the server's identity: %w", context.Cause(ctx))}
		}
		return err
	}
	fmt.Fprintf(r.o.Log, "conc %d: server %s is ours: %s\n", conc, info.Name, how)
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
