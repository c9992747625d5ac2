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
)

// Config tunes the backend.
type Config struct {
	// Socket is the daemon's unix socket; empty means /var/run/docker.sock.
	Socket string
	// Pull is "missing" (default: pull only when the image is absent), "always" or "never".
	Pull string
	// StopGrace is how long the engine gets between SIGTERM and SIGKILL; zero means 30s.
	StopGrace time.Duration
	// AuthConfig is a docker CLI config.json whose "auths" are used for pulls; optional.
	AuthConfig string
}

// Backend starts containers.
type Backend struct {
	cfg Config
	api *api
}

var _ engine.Backend = (*Backend)(nil)

// New returns a docker backend.
func New(cfg Config) *Backend {
	if cfg.Socket == "" {
		cfg.Socket = "/var/run/docker.sock"
	}
	if cfg.Pull == "" {
		cfg.Pull = "missing"
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 30 * time.Second
	}
	return &Backend{cfg: cfg, api: newAPI(cfg.Socket)}
}

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
	body, err := b.api.stream(ctx, "POST", "/images/create", url.Values{"fromImage": {ref}}, registryAuth(b.cfg.AuthConfig, ref))
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

// Cleanup implements engine.Backend: it removes every container labelled with runID.
func (b *Backend) Cleanup(ctx context.Context, runID string) error {
	ids, err := b.List(ctx, runID)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, b.remove(ctx, id))
	}
	return errors.Join(errs...)
}

// List returns the ids of the containers (running or not) that carry runID; an empty
// runID lists every container this agent created on the host.
func (b *Backend) List(ctx context.Context, runID string) ([]string, error) {
	f := []string{engine.LabelOwner + "=" + engine.OwnerValue}
	if runID != "" {
		f = append(f, engine.LabelRun+"="+runID)
	}
	fj, _ := json.Marshal(map[string][]string{"label": f})
	var list []struct {
		ID string `json:"Id"`
	}
	if err := b.api.call(ctx, "GET", "/containers/json", url.Values{"all": {"1"}, "filters": {string(fj)}}, nil, &list); err != nil {
		return nil, fmt.Errorf("list containers of run %s: %w", runID, err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids, nil
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

// Stop implements engine.Server: SIGTERM with a grace period, then removal.
func (c *container) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		t := strconv.Itoa(int(c.b.cfg.StopGrace.Seconds()))
		err := c.b.api.call(ctx, "POST", "/containers/"+c.id+"/stop", url.Values{"t": {t}}, nil, nil)
		if ae, ok := err.(*apiError); err != nil && !(ok && (ae.Status == 304 || ae.Status == 404)) {
			c.stopErr = fmt.Errorf("stop container %s: %w", c.Launch.Name, err)
		}
		select {
		case <-c.Finished:
		case <-ctx.Done():
		}
		c.stopErr = errors.Join(c.stopErr, c.b.remove(ctx, c.id))
	})
	return c.stopErr
}
