package sim

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/inferbench/inferbench/internal/rxstamp"
)

// The simulator's "arrival" of a request is when its first bytes were read from the
// connection, not when the handler started: under a burst, the HTTP layer's own parsing
// queue is the server's latency (a real engine's TTFT includes it too), not the client's.

type connKey struct{}

// stampListener wraps accepted connections in stampConn.
type stampListener struct{ net.Listener }

func (l stampListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &stampConn{Conn: c, armed: true, rx: rxstamp.New(c)}, nil
}

// stampConn remembers when the first read of each request returned data. It is armed
// while the connection is between requests and disarmed by that first read.
type stampConn struct {
	net.Conn
	mu    sync.Mutex
	armed bool
	first time.Time
	rx    *rxstamp.Conn
}

func (c *stampConn) Read(p []byte) (int, error) {
	var n int
	var wall int64
	var err error
	if c.rx != nil {
		n, wall, err = c.rx.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	if n > 0 {
		now := rxstamp.MonoFromWall(time.Now(), wall)
		c.mu.Lock()
		if c.armed {
			c.first, c.armed = now, false
		}
		c.mu.Unlock()
	}
	return n, err
}

// arrival returns when the current request started arriving and a function to call when
// its response is done, which re-arms the connection for the next request.
func arrival(ctx context.Context, fallback time.Time) (time.Time, func()) {
	c, ok := ctx.Value(connKey{}).(*stampConn)
	if !ok {
		return fallback, func() {}
	}
	c.mu.Lock()
	t := c.first
	c.mu.Unlock()
	if t.IsZero() || t.After(fallback) {
		t = fallback
	}
	return t, func() {
		c.mu.Lock()
		c.armed = true
		c.mu.Unlock()
	}
}

func connContext(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(*stampConn); ok {
		return context.WithValue(ctx, connKey{}, sc)
	}
	return ctx
}
