package loadgen

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferbench/inferbench/internal/rxstamp"
)

// dialer opens and pools the client's connections. It can pre-open them before the
// measured window, so the first wave of requests does not pay (and measure) a burst of
// concurrent connection setups that a keep-alive steady state never sees. Workers take a
// connection from the pool, keep it for all their requests, and hand it back when done, so
// the measured phase reuses the warm-up's connections.
type dialer struct {
	net.Dialer
	addr string      // host:port
	tls  *tls.Config // nil for plain HTTP
	pool chan *hconn
	live atomic.Int64 // open connections
}

func newDialer(base *url.URL, size int) *dialer {
	d := &dialer{
		Dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		addr:   hostPort(base),
		pool:   make(chan *hconn, size),
	}
	if base.Scheme == "https" {
		d.tls = &tls.Config{ServerName: base.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	return d
}

// get returns an idle connection if one is ready, else dials.
func (d *dialer) get(ctx context.Context) (*hconn, error) {
	select {
	case h := <-d.pool:
		return h, nil
	default:
	}
	return d.dial(ctx)
}

func (d *dialer) dial(ctx context.Context) (*hconn, error) {
	nc, err := d.Dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	var rx *rxstamp.Conn
	if d.tls != nil {
		tc := tls.Client(nc, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	} else {
		rx = rxstamp.New(nc)
	}
	d.live.Add(1)
	return newHConn(nc, rx), nil
}

// put hands a healthy connection back for reuse.
func (d *dialer) put(h *hconn) {
	select {
	case d.pool <- h:
	default:
		d.discard(h)
	}
}

// discard closes a connection that must not be reused.
func (d *dialer) discard(h *hconn) {
	h.close()
	d.live.Add(-1)
}

// preconnect opens connections until n are open, at most 64 dials at a time. Failures are
// ignored: the request will dial again and report the error.
func (d *dialer) preconnect(ctx context.Context, n int) {
	need := n - int(d.live.Load())
	if need <= 0 {
		return
	}
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for range need {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if h, err := d.dial(ctx); err == nil {
				d.put(h)
			}
		}()
	}
	wg.Wait()
}

// drain closes every pooled connection.
func (d *dialer) drain() {
	for {
		select {
		case h := <-d.pool:
			d.discard(h)
		default:
			return
		}
	}
}

// hostPort is host:port of a base URL, with the scheme's default port.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
