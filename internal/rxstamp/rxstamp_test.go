package rxstamp

import (
	"net"
	"runtime"
	"testing"
	"time"
)

func TestMonoFromWall(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		wall int64
		want time.Duration // how far before now
	}{
		{"no stamp", 0, 0},
		{"recent stamp", now.Add(-3 * time.Millisecond).UnixNano(), 3 * time.Millisecond},
		{"future stamp is not trusted", now.Add(time.Second).UnixNano(), 0},
		{"stale stamp (clock step) is not trusted", now.Add(-2 * time.Second).UnixNano(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS != "linux" && tc.want != 0 {
				t.Skip("kernel stamps are Linux-only")
			}
			if got := now.Sub(MonoFromWall(now, tc.wall)); got != tc.want {
				t.Errorf("MonoFromWall is %v before now, want %v", got, tc.want)
			}
		})
	}
}

func TestReadStampsLoopbackData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("kernel stamps are Linux-only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("hello"))
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rx := New(c)
	if rx == nil {
		t.Fatal("New returned nil for a TCP connection")
	}
	time.Sleep(20 * time.Millisecond) // the data waits in the kernel: the stamp must predate the read
	buf := make([]byte, 16)
	n, wall, err := rx.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	lag := time.Since(time.Unix(0, wall))
	if wall == 0 || lag < 15*time.Millisecond || lag > 5*time.Second {
		t.Errorf("kernel stamp %v before the read returned, want the ~20ms the data waited", lag)
	}
}
