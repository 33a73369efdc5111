package drilltest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is a private redis-server without persistence that a drill
// kills (SIGKILL) and starts again, empty, on the same port.
type redisProc struct {
	bin, dir string
	port     int
	addr     string
	cmd      *exec.Cmd
	out      *bytes.Buffer
	exited   chan struct{}
}

// startRedis starts a redis-server on a free loopback port, stopped when
// the test ends. Without redis-server on PATH the test is skipped, or
// fails when CI is set.
func startRedis(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "redis-server is not installed: install it (Debian: apt-get install redis-server) to run this drill")
	}
	p := &redisProc{bin: bin, dir: t.TempDir()}
	t.Cleanup(p.kill)
	for range 5 {
		if p.port, err = freePort(); err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		p.addr = "127.0.0.1:" + strconv.Itoa(p.port)
		if err = p.start(); err == nil {
			return p
		}
		// most likely the port was taken meanwhile
	}
	t.Fatalf("start a private redis-server: %v", err)
	return nil
}

func (p *redisProc) start() error {
	p.out = &bytes.Buffer{}
	p.cmd = exec.Command(p.bin, "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir, "--daemonize", "no", "--logfile", "")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	p.exited = exited
	cmd := p.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := waitPing(p.addr, exited); err != nil {
		p.kill()
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(p.out.String()))
	}
	return nil
}

// kill sends SIGKILL, as a crash would, and waits for the process to end.
func (p *redisProc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// restart starts the server again on its port, empty.
func (p *redisProc) restart(t *testing.T) {
	t.Helper()
	var err error
	for range 20 { // the port may linger for a moment
		if err = p.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restart redis-server on %s: %v", p.addr, err)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitPing waits up to 15 s for the server at addr to answer PING, or for
// it to exit.
func waitPing(addr string, exited <-chan struct{}) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := rdb.Ping(pctx).Err()
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("redis-server at %s does not answer: %w", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
