package testkit

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards every connection accepted on ln to (network, addr) and counts them, until
// the test ends. A test points a client at ln to prove the client went through it and not
// through its default address (e.g. DOCKER_HOST against the default Docker socket).
func Proxy(t testing.TB, ln net.Listener, network, addr string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go func() {
				defer c.Close()
				up, err := net.DialTimeout(network, addr, 5*time.Second)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return &n
}
