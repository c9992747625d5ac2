package loadgen_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/sim"
)

// The simulator can run in a child process (this test binary re-executed), so that the
// client's CPU time and scheduling are measured apart from the simulator's: getrusage of
// this process then covers the client only, and the two Go schedulers do not share
// run queues.

const childEnv = "INFERBENCH_LOADGEN_SIM_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runSimChild(cfg))
	}
	os.Exit(m.Run())
}

// runSimChild serves a simulator configured by the JSON in cfg, prints its address, and
// stops when stdin closes (the parent exited or is done).
func runSimChild(cfgJSON string) int {
	var cfg sim.Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := sim.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	if err := s.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startSimProcess starts the simulator in a child process and returns its base URL.
func startSimProcess(t testing.TB, cfg sim.Config) string {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "sim-model"
	}
	js, err := json.Marshal(cfg)
	require.NoError(t, err)
	inR, inW, err := os.Pipe()
	require.NoError(t, err)
	outR, outW, err := os.Pipe()
	require.NoError(t, err)
	env := append(os.Environ(), childEnv+"="+string(js))
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &os.ProcAttr{
		Env: env, Files: []*os.File{inR, outW, os.Stderr},
	})
	inR.Close()
	outW.Close()
	require.NoError(t, err)
	t.Cleanup(func() {
		inW.Close()
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(outR).ReadString('\n')
	require.NoError(t, err, "simulator child")
	require.True(t, strings.HasPrefix(line, "ADDR "), "simulator child: %q %v", line, err)
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
}

// fetchTruth reads the child's ground truth.
func fetchTruth(t testing.TB, url string) map[string]sim.Truth {
	t.Helper()
	resp, err := http.Get(url + "/sim/truth")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list []sim.Truth
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	m := map[string]sim.Truth{}
	for _, tr := range list {
		m[tr.ID] = tr
	}
	return m
}
