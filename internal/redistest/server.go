package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a private redis-server started by StartServer for one test.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int

	bin, dir string
	args     []string
	cmd      *exec.Cmd
	out      *bytes.Buffer
	exited   chan struct{}
}

// StartServer starts a private redis-server on a free loopback port,
// without persistence (--save "" --appendonly no) and with the extra
// configuration args (e.g. "--maxmemory", "32mb"), and stops it when the
// test ends. Tests that change the server's configuration, fill its memory,
// read its SLOWLOG or crash it use one, never the shared Redis. Without
// redis-server on PATH the test is skipped, or fails when CI is set.
func StartServer(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed: install it (Debian: apt-get install redis-server) to run this test"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg + " (CI is set)")
		}
		tb.Skip(msg)
	}
	s := &Server{bin: bin, dir: tb.TempDir(), args: args}
	tb.Cleanup(s.Kill)
	var lastErr error
	for range 5 {
		if s.Port, err = freePort(); err != nil {
			tb.Fatalf("find a free port: %v", err)
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(s.Port)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
		// most likely the port was taken meanwhile
	}
	tb.Fatalf("start a private redis-server: %v", lastErr)
	return nil
}

func (s *Server) start() error {
	argv := append([]string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--logfile", "",
	}, s.args...)
	s.out = &bytes.Buffer{}
	s.cmd = exec.Command(s.bin, argv...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := waitPing(s.Addr, exited); err != nil {
		s.Kill()
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(s.out.String()))
	}
	return nil
}

// Kill sends SIGKILL, as a crash would, and waits for the process to end.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Restart starts the server again on its port, empty (it keeps nothing on
// disk), after Kill.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	var err error
	for range 20 { // the port may linger for a moment
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("restart redis-server on %s: %v", s.Addr, err)
}

// Client returns a client of the server, closed when the test ends, with
// the pool and timeouts of the package's Client.
func (s *Server) Client(tb testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  s.Addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           5 * time.Second,
		WriteTimeout:          5 * time.Second,
		PoolSize:              64,
		PoolTimeout:           10 * time.Second,
		MaxRetries:            1,
	})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// FreePort returns a loopback TCP port that was free a moment ago, for a
// private server a test starts.
func FreePort() (int, error) { return freePort() }

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
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server at %s does not answer: %w", addr, err)
		}
	}
}

// SlowlogAll makes the server log every command in its SLOWLOG
// (slowlog-log-slower-than 0), keeping the latest n, and clears it.
func SlowlogAll(tb testing.TB, rdb *redis.Client, n int) {
	tb.Helper()
	ctx := context.Background()
	for _, err := range []error{
		rdb.ConfigSet(ctx, "slowlog-log-slower-than", "0").Err(),
		rdb.ConfigSet(ctx, "slowlog-max-len", strconv.Itoa(n)).Err(),
		rdb.Do(ctx, "SLOWLOG", "RESET").Err(),
	} {
		if err != nil {
			tb.Fatalf("configure the slowlog: %v", err)
		}
	}
}

// SlowlogEntry is a command the server logged and how long it ran, by
// the server's own measurement.
type SlowlogEntry struct {
	Took time.Duration
	Args []string
}

// Slowlog returns the latest n SLOWLOG entries, slowest first.
func Slowlog(tb testing.TB, rdb *redis.Client, n int) []SlowlogEntry {
	tb.Helper()
	logs, err := rdb.SlowLogGet(context.Background(), int64(n)).Result()
	if err != nil {
		tb.Fatalf("SLOWLOG GET: %v", err)
	}
	out := make([]SlowlogEntry, 0, len(logs))
	for _, l := range logs {
		out = append(out, SlowlogEntry{Took: l.Duration, Args: l.Args})
	}
	slices.SortFunc(out, func(a, b SlowlogEntry) int { return int(b.Took - a.Took) })
	return out
}

// KeyTTL is a key and its TTL, negative when it has none.
type KeyTTL struct {
	Key string
	TTL time.Duration
}

// KeysTTL returns every key under prefix with its TTL (SCAN, then PTTL in
// pipelined batches). A key that expired between the two is left out.
func KeysTTL(tb testing.TB, rdb *redis.Client, prefix string) []KeyTTL {
	tb.Helper()
	ctx := context.Background()
	var out []KeyTTL
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) == 0 {
			return
		}
		pipe := rdb.Pipeline()
		cmds := make([]*redis.DurationCmd, len(batch))
		for i, k := range batch {
			cmds[i] = pipe.PTTL(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			tb.Fatalf("PTTL: %v", err)
		}
		for i, c := range cmds {
			// go-redis keeps PTTL's -1 (no TTL) and -2 (no key) as is
			if d := c.Val(); d != -2 {
				out = append(out, KeyTTL{Key: batch[i], TTL: d})
			}
		}
		batch = batch[:0]
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			flush()
		}
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("SCAN %s*: %v", prefix, err)
	}
	flush()
	return out
}
