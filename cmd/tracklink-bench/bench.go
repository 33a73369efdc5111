package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink/webhook/webhooktest"
)

type bench struct {
	cfg      benchConfig
	self     string
	runID    string
	prefix   string
	progress io.Writer
	rdb      *redis.Client // the generator's own client: INFO and the clean-up
	secret   string
	results  map[string][]roundResult
}

// roundResult is one mode's figures in one round; a NaN figure is unknown.
type roundResult struct {
	rps        float64
	p50, p99   time.Duration
	serverCPU  float64 // µs per request
	redisCPU   float64 // µs per request
	trips      float64 // per request
	allocs     float64 // per request
	requests   int
	failed     int
	noCookie   int
	cookie     int
	absorbed   int64
	lastFailed string
}

func (b *bench) openRedis(ctx context.Context) error {
	b.rdb = redis.NewClient(&redis.Options{Addr: b.cfg.redisAddr, DialTimeout: 2 * time.Second,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxRetries: -1, PoolSize: 2})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := b.rdb.Ping(pctx).Err(); err != nil {
		b.rdb.Close()
		return fmt.Errorf("redis %s (the Redis modes need it; -modes picks others): %w", b.cfg.redisAddr, err)
	}
	b.secret = webhooktest.NewStandardWebhookSecret()
	return nil
}

// closeRedis deletes the run's keys (SCAN + UNLINK) and closes the client.
func (b *bench) closeRedis() {
	defer b.rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n int
	iter := b.rdb.Scan(ctx, 0, b.prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := b.rdb.Unlink(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	var err error
	for err == nil && iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 500 {
			err = flush()
		}
	}
	if err == nil {
		err = iter.Err()
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		fmt.Fprintf(b.progress, "deleting %s*: %v\n", b.prefix, err)
		return
	}
	fmt.Fprintf(b.progress, "deleted %d keys under %s\n", n, b.prefix)
}

// snapshot is the counters at one moment of a round.
type snapshot struct {
	cpuTicks int64 // the server process's utime + stime
	server   debugStats
	redisCPU float64 // seconds; NaN when INFO cpu is not available
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux.
const clockTicks = 100

// procCPU returns utime + stime of pid in clock ticks.
func procCPU(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat format")
	}
	return u + s, nil
}

// redisCPU returns used_cpu_sys + used_cpu_user of INFO cpu in seconds,
// or NaN when the server does not report them.
func (b *bench) redisCPU(ctx context.Context) float64 {
	if b.rdb == nil {
		return math.NaN()
	}
	info, err := b.rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return math.NaN()
	}
	var total float64
	var found int
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return math.NaN()
		}
		total += f
		found++
	}
	if found != 2 {
		return math.NaN()
	}
	return total
}

func (b *bench) snapshot(ctx context.Context, client *http.Client, base string, pid int) (snapshot, error) {
	var s snapshot
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+debugPath, nil)
	resp, err := client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("%s: %s", debugPath, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<10)).Decode(&s.server); err != nil {
		return s, fmt.Errorf("%s: %w", debugPath, err)
	}
	if s.cpuTicks, err = procCPU(pid); err != nil {
		return s, err
	}
	s.redisCPU = b.redisCPU(ctx)
	return s, nil
}

// syncBuffer collects a process's standard error.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

// proc is a child process: a server (base is its address) or a busy loop.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr *syncBuffer
	base   string
}

// start re-executes the binary with args; with server set, it waits for
// the "listening ADDR" line. The process exits by itself when its standard
// input closes (stop) and is killed when ctx ends.
func (b *bench) start(ctx context.Context, args []string, server bool) (*proc, error) {
	cmd := exec.CommandContext(ctx, b.self, args...)
	cmd.Env = append(os.Environ(), secretEnv+"="+b.secret)
	cmd.WaitDelay = 2 * time.Second
	p := &proc{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe() // closed when the parent exits: the child then stops
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if !server {
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		return p, nil
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.LimitReader(stdout, 4096))
		if sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				addr <- a
			}
		}
		close(addr)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a, ok := <-addr:
		if ok {
			p.base = "http://" + a
			return p, nil
		}
		err = errors.New("the server process did not print its address")
	case <-time.After(30 * time.Second):
		err = errors.New("the server process did not start within 30s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	return nil, p.stop(err)
}

// stop closes the process's standard input, which stops it (a server
// closes its middleware, draining the queue for up to closeTimeout, and
// writes its profile); a process that has not exited soon after is
// killed. It returns err with the process's output appended, if any.
func (p *proc) stop(err error) error {
	p.stdin.Close()
	exited := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(closeTimeout + 3*time.Second):
		_ = p.cmd.Process.Kill()
		<-exited
	}
	if err != nil {
		if s := p.stderr.String(); s != "" {
			err = fmt.Errorf("%w\nserver output:\n%s", err, s)
		}
	}
	return err
}

// round starts m's server process, loads it and returns its figures. The
// process is killed before round returns.
func (b *bench) round(ctx context.Context, m mode, r int) (res roundResult, err error) {
	lifetime := b.cfg.warmup + b.cfg.duration + time.Minute
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	defer cancel()
	args := []string{"-serve", m.name, "-conns", strconv.Itoa(b.cfg.conns),
		"-store-timeout", b.cfg.storeTimeout.String(), "-lifetime", lifetime.String()}
	if b.cfg.profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(b.cfg.profileDir, fmt.Sprintf("%s-%d.pprof", m.name, r+1)))
	}
	if m.redis {
		args = append(args, "-redis", b.cfg.redisAddr, "-prefix", fmt.Sprintf("%s%s-%d:", b.prefix, m.name, r+1))
	}
	p, err := b.start(ctx, args, true)
	if err != nil {
		return res, err
	}
	defer func() { err = p.stop(err) }()
	base := p.base

	debug := &http.Client{Timeout: 10 * time.Second}
	defer debug.CloseIdleConnections()
	l, err := startLoad(ctx, m, base, b.secret, fmt.Sprintf("%s%d", b.runID, r+1), b.cfg.conns, false)
	if err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			l.stop()
		}
	}()
	select {
	case <-time.After(b.cfg.warmup):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	before, err := b.snapshot(ctx, debug, base, p.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	l.record.Store(true)
	start := time.Now()
	select {
	case <-time.After(b.cfg.duration):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	l.stop()
	stopped = true
	elapsed := time.Since(start)
	after, err := b.snapshot(ctx, debug, base, p.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}

	var lat []time.Duration
	for _, st := range l.stats {
		lat = append(lat, st.lat...)
		res.failed += st.failed
		res.noCookie += st.noCookie
		res.cookie += st.cookie
		if st.lastErr != "" {
			res.lastFailed = st.lastErr
		}
	}
	res.requests = len(lat)
	if res.requests == 0 {
		return res, fmt.Errorf("no request completed in %v (last failure: %s)", b.cfg.duration, res.lastFailed)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res.rps = float64(res.requests) / elapsed.Seconds()
	res.p50, res.p99 = q(0.50), q(0.99)
	served := float64(after.server.Served - before.server.Served)
	if served <= 0 {
		return res, errors.New("the server counted no request")
	}
	res.serverCPU = float64(after.cpuTicks-before.cpuTicks) / clockTicks * 1e6 / served
	res.allocs = float64(after.server.Mallocs-before.server.Mallocs) / served
	res.absorbed = after.server.Absorbed - before.server.Absorbed
	res.trips, res.redisCPU = math.NaN(), math.NaN()
	if m.redis {
		res.trips = float64(after.server.Trips-before.server.Trips) / served
		res.redisCPU = (after.redisCPU - before.redisCPU) * 1e6 / served
	}
	return res, nil
}
