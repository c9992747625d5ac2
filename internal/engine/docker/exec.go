package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
)

var _ engine.Execer = (*container)(nil)

// Exec implements engine.Execer with the Engine API's exec endpoints: create an exec
// instance, start it attached (the daemon hijacks the connection and sends stdout and
// stderr multiplexed, since there is no TTY), then inspect it for the exit code.
//
// Docker has no call to kill an exec'd process: when ctx ends, Exec returns at once and the
// process keeps running until the container is stopped, which the runner does next anyway.
func (c *container) Exec(ctx context.Context, argv, env []string) (engine.ExecResult, error) {
	res := engine.ExecResult{ExitCode: -1}
	if len(argv) == 0 {
		return res, errors.New("docker exec: empty command")
	}
	body := map[string]any{"AttachStdout": true, "AttachStderr": true, "Tty": false, "Cmd": argv}
	if len(env) > 0 {
		body["Env"] = env
	}
	if c.Launch.Workdir != "" {
		body["WorkingDir"] = c.Launch.Workdir
	}
	var created struct {
		ID string `json:"Id"`
	}
	if err := c.b.api.call(ctx, "POST", "/containers/"+c.id+"/exec", nil, body, &created); err != nil {
		return res, fmt.Errorf("docker exec in %s: create: %w", c.Launch.Name, err)
	}
	stream, err := c.b.api.streamBody(ctx, "POST", "/exec/"+created.ID+"/start", nil, map[string]any{"Detach": false, "Tty": false})
	if err != nil {
		return res, fmt.Errorf("docker exec in %s: start: %w", c.Launch.Name, err)
	}
	var stdout, stderr bytes.Buffer
	err = demuxSplit(&stdout, &stderr, stream)
	stream.Close()
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	if ctx.Err() != nil {
		return res, fmt.Errorf("docker exec in %s: %w", c.Launch.Name, ctx.Err())
	}
	if err != nil {
		return res, fmt.Errorf("docker exec in %s: reading output: %w", c.Launch.Name, err)
	}
	code, err := c.execExitCode(ctx, created.ID)
	if err != nil {
		return res, fmt.Errorf("docker exec in %s: %w", c.Launch.Name, err)
	}
	res.ExitCode = code
	return res, nil
}

// execExitCode inspects the exec instance; the stream can end a moment before the daemon
// records the exit, so a still-running instance is asked again, briefly.
func (c *container) execExitCode(ctx context.Context, id string) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st struct {
			Running  bool `json:"Running"`
			ExitCode *int `json:"ExitCode"`
		}
		if err := c.b.api.call(ctx, "GET", "/exec/"+id+"/json", nil, nil, &st); err != nil {
			return -1, fmt.Errorf("inspect: %w", err)
		}
		if !st.Running && st.ExitCode != nil {
			return *st.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("the command's output ended but the daemon still reports it running")
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// demuxSplit undoes the daemon's multiplexing like demux, but keeps the streams apart:
// each frame is [stream, 0, 0, 0, size (4 bytes, big endian)] then size bytes, stream 1
// being stdout and 2 stderr.
func demuxSplit(stdout, stderr io.Writer, r io.Reader) error {
	br := bufio.NewReader(r)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("stream header: %w", err)
		}
		w := stdout
		switch hdr[0] {
		case 1:
		case 2:
			w = stderr
		case 0: // stdin: never attached, but harmless
			w = io.Discard
		default:
			return fmt.Errorf("stream header names stream %d: not a multiplexed stream", hdr[0])
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.CopyN(w, br, n); err != nil {
			return fmt.Errorf("stream frame: %w", err)
		}
	}
}

// streamBody is stream with a JSON request body.
func (a *api) streamBody(ctx context.Context, method, path string, q url.Values, body any) (io.ReadCloser, error) {
	v, err := a.negotiate(ctx)
	if err != nil {
		return nil, err
	}
	p := "/v" + v + path
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	resp, err := a.send(ctx, method, p, body, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
