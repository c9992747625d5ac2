package docker

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/procfs"
)

// Config tunes the backend.
type Config struct {
	// Host is the daemon's address as DOCKER_HOST spells it (unix:///path, tcp://host:port);
	// empty finds it from Getenv the way the docker CLI does (ResolveEndpoint).
	Host string
	// Getenv is the agent's environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH,
	// DOCKER_CONTEXT, DOCKER_CONFIG and HOME locate the daemon and the registry logins;
	// nil is an empty environment (the default socket, no logins).
	Getenv func(string) string
	// Exec runs the credential helpers the docker config names for pulls; nil is the host's.
	Exec execx.Executor
	// Pull is "missing" (default: pull only when the image is absent), "always" or "never".
	Pull string
	// StopGrace is how long the engine gets between SIGTERM and SIGKILL; zero means 30s.
	StopGrace time.Duration
	// Owner is this agent's identity (procfs.Owner's form). When set, Cleanup removes only
	// the containers of the run that this agent created, never those of another agent that
	// was given the same run id.
	Owner string
	// Proc is where Reap judges whether a container's agent is gone; zero means the host's.
	Proc procfs.FS
}

// Backend starts containers.
type Backend struct {
	cfg Config
	api *api
	// docker is the docker CLI's config (registry logins); confErr says why it is unusable.
	docker  configFile
	confErr error
}

var (
	_ engine.Backend   = (*Backend)(nil)
	_ engine.Reaper    = (*Backend)(nil)
	_ engine.Validator = (*Backend)(nil)
	_ engine.Checker   = (*container)(nil)
)

// New returns a docker backend. Where the daemon and the logins are is worked out here; a
// configuration that cannot work (an unsupported DOCKER_HOST, a missing context) is
// reported by Validate and by every call that needs the daemon.
func New(cfg Config) *Backend {
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Exec == nil {
		cfg.Exec = execx.OS{}
	}
	if cfg.Pull == "" {
		cfg.Pull = "missing"
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 30 * time.Second
	}
	if cfg.Proc.Root == "" {
		cfg.Proc = procfs.Host
	}
	var ep Endpoint
	var err error
	if cfg.Host != "" {
		ep = Endpoint{Host: cfg.Host, From: "the backend's configuration"}
	} else {
		ep, err = ResolveEndpoint(cfg.Getenv)
	}
	b := &Backend{cfg: cfg, api: newAPI(ep, err)}
	b.docker, b.confErr = readConfigFile(configDir(cfg.Getenv))
	return b
}

// Validate implements engine.Validator: the daemon's address and the docker config are
// usable (it does not contact the daemon).
func (b *Backend) Validate() error {
	if b.api.epErr != nil {
		return fmt.Errorf("docker backend: %w", b.api.epErr)
	}
	if b.confErr != nil {
		return fmt.Errorf("docker backend: %w", b.confErr)
	}
	return nil
}

// Endpoint is the daemon this backend talks to.
func (b *Backend) Endpoint() Endpoint { return b.api.ep }

// Name implements engine.Backend.
func (b *Backend) Name() string { return "docker" }

// ImageRef turns the enroot spelling `registry#path:tag` into docker's `registry/path:tag`.
func ImageRef(image string) string { return strings.Replace(image, "#", "/", 1) }

// Start implements engine.Backend.
func (b *Backend) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	if s.Image == "" {
		return nil, errors.New("docker backend: the recipe/row gives no image")
	}
	if s.Nodes > 1 {
		return nil, fmt.Errorf("docker backend runs on one node, the launch needs %d: use a slurm runner family for multi-node deployments", s.Nodes)
	}
	ref := ImageRef(s.Image)
	img, err := b.ensureImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	// After the pull, which may take long: the port must be free when the engine starts.
	if s.CheckPort != nil {
		if err := s.CheckPort(ctx, "127.0.0.1"); err != nil {
			return nil, err
		}
	}
	q := url.Values{"name": {s.Name}}
	var created struct {
		ID       string   `json:"Id"`
		Warnings []string `json:"Warnings"`
	}
	if err := b.api.call(ctx, "POST", "/containers/create", q, createBody(s, ref), &created); err != nil {
		return nil, fmt.Errorf("create container %s: %w", s.Name, err)
	}
	c := &container{b: b, id: created.ID, Handle: engine.NewHandle(s), logDone: make(chan struct{})}
	c.Desc = engine.Info{Backend: "docker", ID: created.ID, Name: s.Name, Image: ref, ImageDigest: img.digest(), Host: "127.0.0.1"}
	if err := b.api.call(ctx, "POST", "/containers/"+created.ID+"/start", nil, nil, nil); err != nil {
		_ = b.remove(context.WithoutCancel(ctx), created.ID)
		return nil, fmt.Errorf("start container %s: %w", s.Name, err)
	}
	if err := c.follow(); err != nil {
		_ = b.remove(context.WithoutCancel(ctx), created.ID)
		return nil, err
	}
	go c.wait()
	return c, nil
}

type imageInfo struct {
	ID          string   `json:"Id"`
	RepoDigests []string `json:"RepoDigests"`
}

func (i imageInfo) digest() string {
	if len(i.RepoDigests) > 0 {
		return i.RepoDigests[0]
	}
	return i.ID
}

func (b *Backend) ensureImage(ctx context.Context, ref string) (imageInfo, error) {
	var img imageInfo
	err := b.api.call(ctx, "GET", "/images/"+ref+"/json", nil, nil, &img)
	if err == nil && b.cfg.Pull != "always" {
		return img, nil
	}
	if err != nil && !isNotFound(err) {
		return img, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if b.cfg.Pull == "never" {
		return img, fmt.Errorf("image %s is not on this host and the inventory says pull: never", ref)
	}
	if err := b.pull(ctx, ref); err != nil {
		return img, err
	}
	if err := b.api.call(ctx, "GET", "/images/"+ref+"/json", nil, nil, &img); err != nil {
		return img, fmt.Errorf("inspect image %s after pull: %w", ref, err)
	}
	return img, nil
}

// pull streams the daemon's progress messages; an "error" message fails the pull even
// though the HTTP status was 200.
func (b *Backend) pull(ctx context.Context, ref string) error {
	if b.confErr != nil {
		return fmt.Errorf("pull %s: %w", ref, b.confErr)
	}
	auth, err := registryAuth(ctx, b.cfg.Exec, b.docker, ref)
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	body, err := b.api.stream(ctx, "POST", "/images/create", url.Values{"fromImage": {ref}}, auth)
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
		if m.Error != "" {
			return fmt.Errorf("pull %s: %s", ref, m.Error)
		}
	}
}

// Describe implements engine.Describer: the image and the container create request.
func (b *Backend) Describe(s engine.Spec) any {
	ref := ImageRef(s.Image)
	return map[string]any{"kind": "docker", "image": ref, "pull": b.cfg.Pull, "name": s.Name, "create": createBody(s, ref)}
}

func createBody(s engine.Spec, ref string) map[string]any {
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	labels[engine.LabelOwner] = engine.OwnerValue
	labels[engine.LabelRun] = s.RunID
	labels[engine.LabelName] = s.Name
	if s.Owner != "" {
		labels[engine.LabelAgent] = s.Owner
	}
	host := map[string]any{
		"NetworkMode": "host",
		"Privileged":  s.Privileged,
		"CapAdd":      s.CapAdd,
		"SecurityOpt": s.SecurityOpt,
		"Init":        true,
	}
	if s.IPCHost {
		host["IpcMode"] = "host"
	}
	if s.ShmSize > 0 {
		host["ShmSize"] = s.ShmSize
	}
	var binds []string
	for _, m := range s.Mounts {
		b := m.Host + ":" + m.Container
		if m.ReadOnly {
			b += ":ro"
		}
		binds = append(binds, b)
	}
	host["Binds"] = binds
	var ul []map[string]any
	for _, u := range s.Ulimits {
		ul = append(ul, map[string]any{"Name": u.Name, "Soft": u.Soft, "Hard": u.Hard})
	}
	host["Ulimits"] = ul
	var devs []map[string]string
	addDev := func(d string) {
		devs = append(devs, map[string]string{"PathOnHost": d, "PathInContainer": d, "CgroupPermissions": "rwm"})
	}
	switch s.GPUVendor {
	case "nvidia":
		if s.GPUs > 0 {
			host["DeviceRequests"] = []map[string]any{{"Driver": "nvidia", "Count": -1, "Capabilities": [][]string{{"gpu"}}}}
		}
	case "amd":
		if s.GPUs > 0 {
			addDev("/dev/kfd")
			addDev("/dev/dri")
			host["GroupAdd"] = []string{"video"}
		}
	}
	for _, d := range s.Devices {
		addDev(d)
	}
	if devs != nil {
		host["Devices"] = devs
	}
	body := map[string]any{
		"Image":      ref,
		"Env":        s.Env,
		"Labels":     labels,
		"HostConfig": host,
		"Tty":        false,
	}
	if len(s.Argv) > 0 {
		body["Entrypoint"] = s.Argv[:1]
		body["Cmd"] = s.Argv[1:]
	}
	if s.Workdir != "" {
		body["WorkingDir"] = s.Workdir
	}
	return body
}

func (b *Backend) remove(ctx context.Context, id string) error {
	err := b.api.call(ctx, "DELETE", "/containers/"+id, url.Values{"force": {"1"}, "v": {"1"}}, nil, nil)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// Cleanup implements engine.Backend: it removes every container labelled with runID that
// this agent created (with Config.Owner set; every one of the run without it).
func (b *Backend) Cleanup(ctx context.Context, runID string) error {
	cs, err := b.list(ctx, runID)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if b.cfg.Owner != "" && c.Labels[engine.LabelAgent] != b.cfg.Owner {
			continue
		}
		errs = append(errs, b.remove(ctx, c.ID))
	}
	return errors.Join(errs...)
}

// List returns the ids of the containers (running or not) that carry runID; an empty
// runID lists every container this agent created on the host.
func (b *Backend) List(ctx context.Context, runID string) ([]string, error) {
	cs, err := b.list(ctx, runID)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids, err
}

// summary is an entry of the daemon's container list.
type summary struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	Labels map[string]string `json:"Labels"`
	State  string            `json:"State"`
}

func (c summary) name() string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return c.ID[:min(12, len(c.ID))]
}

func (b *Backend) list(ctx context.Context, runID string) ([]summary, error) {
	f := []string{engine.LabelOwner + "=" + engine.OwnerValue}
	if runID != "" {
		f = append(f, engine.LabelRun+"="+runID)
	}
	fj, _ := json.Marshal(map[string][]string{"label": f})
	var list []summary
	if err := b.api.call(ctx, "GET", "/containers/json", url.Values{"all": {"1"}, "filters": {string(fj)}}, nil, &list); err != nil {
		return nil, fmt.Errorf("list containers of run %s: %w", runID, err)
	}
	return list, nil
}

// DescribeContainer names a container by id for messages: its name and, for one of ours,
// its run and whether its agent is alive. Empty when the daemon does not know it.
func (b *Backend) DescribeContainer(ctx context.Context, id string) string {
	var c struct {
		Name   string `json:"Name"`
		Config struct {
			Image  string            `json:"Image"`
			Labels map[string]string `json:"Labels"`
		} `json:"Config"`
	}
	if err := b.api.call(ctx, "GET", "/containers/"+id+"/json", nil, nil, &c); err != nil {
		return ""
	}
	s := fmt.Sprintf("container %s, image %s", strings.TrimPrefix(c.Name, "/"), c.Config.Image)
	l := c.Config.Labels
	if l[engine.LabelOwner] == engine.OwnerValue {
		s += ", run " + l[engine.LabelRun]
		if o, err := procfs.ParseOwner(l[engine.LabelAgent]); err == nil {
			_, why := b.cfg.Proc.Gone(o, b.cfg.Proc.Self())
			s += "; " + why
		}
	}
	return s
}

// Reap implements engine.Reaper: containers with the agent's owner label whose agent is
// provably gone (same host, and its pid exited, was reused or the host rebooted) are
// removed. Containers without an owner record, of other hosts or of live agents stay.
func (b *Backend) Reap(ctx context.Context, self string) ([]string, error) {
	me, err := procfs.ParseOwner(self)
	if err != nil {
		return nil, err
	}
	cs, err := b.list(ctx, "")
	if err != nil {
		return nil, err
	}
	var lines []string
	var errs []error
	for _, c := range cs {
		o, err := procfs.ParseOwner(c.Labels[engine.LabelAgent])
		if err != nil || c.Labels[engine.LabelAgent] == self {
			continue
		}
		gone, why := b.cfg.Proc.Gone(o, me)
		if !gone {
			continue
		}
		if err := b.remove(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, fmt.Sprintf("removed leftover container %s (run %s, %s): %s", c.name(), c.Labels[engine.LabelRun], c.State, why))
	}
	return lines, errors.Join(errs...)
}

// container is a started container.
type container struct {
	b  *Backend
	id string
	engine.Handle
	logDone chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// follow copies the container's output into the log file until the container ends.
func (c *container) follow() error {
	f, err := os.OpenFile(c.Launch.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	q := url.Values{"follow": {"1"}, "stdout": {"1"}, "stderr": {"1"}}
	body, err := c.b.api.stream(context.Background(), "GET", "/containers/"+c.id+"/logs", q, "")
	if err != nil {
		f.Close()
		return fmt.Errorf("follow logs of %s: %w", c.Launch.Name, err)
	}
	go func() {
		defer close(c.logDone)
		defer f.Close()
		defer body.Close()
		_ = demux(f, body)
	}()
	return nil
}

// demux undoes the daemon's stdout/stderr multiplexing (8-byte frame headers) of a
// container started without a TTY; both streams go to w in arrival order.
func demux(w io.Writer, r io.Reader) error {
	br := bufio.NewReader(r)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.CopyN(w, br, n); err != nil {
			return err
		}
	}
}

func (c *container) wait() {
	defer close(c.Finished)
	var w struct {
		StatusCode int `json:"StatusCode"`
		Error      *struct {
			Message string `json:"Message"`
		} `json:"Error"`
	}
	err := c.b.api.call(context.Background(), "POST", "/containers/"+c.id+"/wait", url.Values{"condition": {"not-running"}}, nil, &w)
	c.Result = engine.Exit{Code: w.StatusCode, At: time.Now()}
	if err != nil {
		c.Result = engine.Exit{Code: -1, Reason: "container gone: " + err.Error(), At: time.Now()}
		return
	}
	var st struct {
		State struct {
			OOMKilled bool   `json:"OOMKilled"`
			Error     string `json:"Error"`
		} `json:"State"`
	}
	if c.b.api.call(context.Background(), "GET", "/containers/"+c.id+"/json", nil, nil, &st) == nil {
		switch {
		case st.State.OOMKilled:
			c.Result.Reason = "OOM killed"
		case st.State.Error != "":
			c.Result.Reason = st.State.Error
		}
	}
	// Let the log follower drain so the tail shown in errors is complete.
	select {
	case <-c.logDone:
	case <-time.After(2 * time.Second):
	}
}

// Stop implements engine.Server: SIGTERM with a grace period, then removal. When ctx ends
// first (the agent was told to hurry) the container is killed and removed at once. The
// removal has its own bounded context, so it happens even then.
func (c *container) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		t := strconv.Itoa(int(c.b.cfg.StopGrace.Seconds()))
		err := c.b.api.call(ctx, "POST", "/containers/"+c.id+"/stop", url.Values{"t": {t}}, nil, nil)
		if ae, ok := err.(*apiError); err != nil && ctx.Err() == nil && !(ok && (ae.Status == 304 || ae.Status == 404)) {
			c.stopErr = fmt.Errorf("stop container %s: %w", c.Launch.Name, err)
		}
		select {
		case <-c.Finished:
		case <-ctx.Done():
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		c.stopErr = errors.Join(c.stopErr, c.b.remove(rctx, c.id))
	})
	return c.stopErr
}

// Alive implements engine.Checker by asking the daemon: the wait in the background may
// report a death only seconds later.
func (c *container) Alive(ctx context.Context) error {
	select {
	case <-c.Finished:
		return fmt.Errorf("container %s has exited (%s)", c.Launch.Name, c.Result)
	default:
	}
	var st struct {
		State struct {
			Running   bool   `json:"Running"`
			Status    string `json:"Status"`
			ExitCode  int    `json:"ExitCode"`
			OOMKilled bool   `json:"OOMKilled"`
		} `json:"State"`
	}
	if err := c.b.api.call(ctx, "GET", "/containers/"+c.id+"/json", nil, nil, &st); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("container %s is gone", c.Launch.Name)
		}
		return fmt.Errorf("inspect container %s: %w", c.Launch.Name, err)
	}
	if !st.State.Running {
		reason := ""
		if st.State.OOMKilled {
			reason = ", OOM killed"
		}
		return fmt.Errorf("container %s is %s (exit status %d%s)", c.Launch.Name, st.State.Status, st.State.ExitCode, reason)
	}
	return nil
}
