package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tracklink/tracklink/middleware"
)

// busyMode is the -serve value of a busy-loop process of the saturation
// drill: it spins one goroutine until its standard input closes or its
// lifetime ends.
const busyMode = "busy"

// saturateMode is the mode the saturation drill runs.
const saturateMode = "tracked-new-redis"

// drillStoreTimeout is the drill's StoreTimeout unless -store-timeout is
// given: short, so that stamps miss it when the cores are contended.
const drillStoreTimeout = 5 * time.Millisecond

// drillSettle is how long the drill waits, once the load stops, for the
// queue to write what it holds.
const drillSettle = 5 * time.Second

// errChecks is returned when the drill ran and a check failed.
var errChecks = errors.New("saturation drill: a check failed")

func busy(lifetime time.Duration) error {
	var stop atomic.Bool
	go func() {
		var x uint64
		for !stop.Load() {
			for i := range 1 << 16 {
				x += uint64(i) * x
			}
		}
		_ = x
	}()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(lifetime):
	}
	stop.Store(true)
	return nil
}

type drillConfig struct {
	redisAddr    string
	duration     time.Duration
	conns        int
	busy         int
	storeTimeout time.Duration
	minStamped   float64 // the fraction of landings that must be stamped
}

func (c drillConfig) validate() error {
	switch {
	case c.duration < 10*time.Millisecond || c.duration > 10*time.Minute:
		return errors.New("-duration must be 10ms to 10m")
	case c.conns < 1 || c.conns > 1000:
		return errors.New("-conns must be 1 to 1000")
	case c.busy < 0 || c.busy > 64:
		return errors.New("-busy must be 0 to 64")
	case c.storeTimeout <= 0 || c.storeTimeout > time.Minute:
		return errors.New("-store-timeout must be more than 0 and at most 1m")
	case !(c.minStamped >= 0 && c.minStamped <= 1):
		return errors.New("-min-stamped must be 0 to 1")
	}
	return nil
}

// drillResult is what the drill read from the client, the server process
// and Redis.
type drillResult struct {
	sent, ok     int // requests sent and answered 200 (the client's counts)
	lastFailed   string
	settled      middleware.Stats // once the queue was empty, or drillSettle after the load stopped
	settledAfter time.Duration
	final        middleware.Stats // after Close
	closeError   string
	sessions     int64 // session hashes under the run's prefix
	loadBefore   string
	loadAfter    string
	busy, conns  int
	duration     time.Duration
	storeTimeout time.Duration
	minStamped   float64
}

// saturate runs the saturation drill: saturateMode at full speed with a
// short store timeout and busy loops beside it, then the accounting.
func saturate(ctx context.Context, c drillConfig, out, progress io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	runID := randomHex(6)
	b := &bench{cfg: benchConfig{redisAddr: c.redisAddr}, self: self, runID: runID,
		prefix: "tracklink-bench-" + runID + ":", progress: progress}
	if err := b.openRedis(ctx); err != nil {
		return err
	}
	defer b.closeRedis()
	res, err := b.drill(ctx, c)
	if err != nil {
		return err
	}
	if res.report(out) > 0 {
		return errChecks
	}
	return nil
}

func (b *bench) drill(ctx context.Context, c drillConfig) (res drillResult, err error) {
	m, _ := modeByName(saturateMode)
	res = drillResult{busy: c.busy, conns: c.conns, duration: c.duration, storeTimeout: c.storeTimeout, minStamped: c.minStamped}
	lifetime := c.duration + time.Minute
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	defer cancel()
	prefix := b.prefix + "saturate:"
	p, err := b.start(ctx, []string{"-serve", m.name, "-conns", strconv.Itoa(c.conns),
		"-store-timeout", c.storeTimeout.String(), "-lifetime", lifetime.String(),
		"-redis", c.redisAddr, "-prefix", prefix}, true)
	if err != nil {
		return res, err
	}
	defer func() { err = p.stop(err) }()

	res.loadBefore = loadavg()
	var busy []*proc
	stopBusy := func() {
		for _, bp := range busy {
			_ = bp.stop(nil)
		}
		busy = nil
	}
	defer stopBusy()
	for range c.busy {
		bp, err := b.start(ctx, []string{"-serve", busyMode, "-lifetime", (c.duration + 10*time.Second).String()}, false)
		if err != nil {
			return res, err
		}
		busy = append(busy, bp)
	}
	l, err := startLoad(ctx, m, p.base, b.secret, b.runID, c.conns, true)
	if err != nil {
		return res, err
	}
	select {
	case <-time.After(c.duration):
	case <-ctx.Done():
	}
	l.stop()
	res.loadAfter = loadavg()
	stopBusy()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	for _, st := range l.stats {
		res.sent += len(st.lat) + st.failed - st.non200
		res.ok += len(st.lat) - st.non200
		if st.lastErr != "" {
			res.lastFailed = st.lastErr
		}
	}

	debug := &http.Client{Timeout: 10 * time.Second}
	defer debug.CloseIdleConnections()
	stopped := time.Now()
	for {
		s, err := b.snapshot(ctx, debug, p.base, p.cmd.Process.Pid)
		if err != nil {
			return res, err
		}
		if s.server.Tracklink == nil {
			return res, errors.New("the server process reported no middleware Stats")
		}
		res.settled, res.settledAfter = *s.server.Tracklink, time.Since(stopped)
		if res.settled.Queue.Length == 0 || res.settledAfter >= drillSettle {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	final, err := closeServer(ctx, debug, p.base)
	if err != nil {
		return res, err
	}
	res.final, res.closeError = *final.Tracklink, final.CloseError
	res.sessions, err = b.countKeys(ctx, prefix+"{s:*")
	return res, err
}

// closeServer asks the server process to close its middleware and returns
// the final counters.
func closeServer(ctx context.Context, client *http.Client, base string) (debugStats, error) {
	var d debugStats
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+debugClosePath, nil)
	resp, err := client.Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("%s: %s", debugClosePath, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<10)).Decode(&d); err != nil {
		return d, fmt.Errorf("%s: %w", debugClosePath, err)
	}
	if d.Tracklink == nil {
		return d, errors.New("the server process reported no middleware Stats")
	}
	return d, nil
}

// countKeys counts the keys matching pattern (SCAN).
func (b *bench) countKeys(ctx context.Context, pattern string) (int64, error) {
	var n int64
	iter := b.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	return n, iter.Err()
}

// loadavg is the first three fields of /proc/loadavg, or "unknown".
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// report prints the table and the checks and returns how many failed.
func (r drillResult) report(w io.Writer) int {
	f, s := r.final, r.settled
	landings := f.Landings.Total()
	inTime := s.Landings.Stamped + s.Queue.Stamped
	stamped := f.Landings.Stamped + f.Queue.Stamped
	left := f.Queue.Abandoned + f.Queue.Length
	other := f.Landings.Untracked() - f.Landings.Dropped
	n := func(v int64) string { return thousands(float64(v)) }
	pct := func(v int64) string {
		if landings == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f%%", 100*float64(v)/float64(landings))
	}
	fmt.Fprintf(w, "\nsaturation drill: %s, %d connections, %v, %d busy loops, StoreTimeout %v; "+
		"GOMAXPROCS %d, %d CPUs; /proc/loadavg %s before the load, %s at its end\n\n",
		saturateMode, r.conns, r.duration, r.busy, r.storeTimeout, runtime.GOMAXPROCS(0), runtime.NumCPU(), r.loadBefore, r.loadAfter)
	fmt.Fprintln(w, "| figure | count | of landings |")
	fmt.Fprintln(w, "|---|---:|---:|")
	row := func(name string, v int64, share bool) {
		p := ""
		if share {
			p = pct(v)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", name, n(v), p)
	}
	row("requests sent (client)", int64(r.sent), false)
	row("answered 200 (client)", int64(r.ok), false)
	row("landings (server)", landings, true)
	row("stamped on the request path", f.Landings.Stamped, true)
	row("queued", f.Landings.Queued, true)
	row(fmt.Sprintf("stamped in time or late, within %v of the load's end", drillSettle), inTime, true)
	row("stamped in time or late, after Close", stamped, true)
	row("queued, left unwritten (abandoned)", left, true)
	row("queued, failed", f.Queue.Failed, true)
	row("dropped (queue full)", f.Landings.Dropped, true)
	for _, u := range []struct {
		name string
		v    int64
	}{{"deadline", f.Landings.Deadline}, {"breaker_open", f.Landings.BreakerOpen}, {"store_error", f.Landings.StoreError},
		{"canceled", f.Landings.Canceled}, {"cookie_error", f.Landings.CookieError}, {"consent", f.Landings.Consent},
		{"over_budget", f.Landings.OverBudget}} {
		if u.v > 0 {
			row("untracked: "+u.name, u.v, true)
		}
	}
	if other == 0 {
		row("untracked, other reasons", 0, true)
	}
	row("session hashes in Redis", r.sessions, true)
	fmt.Fprintf(w, "\nthe queue was empty %v after the load stopped", round(r.settledAfter))
	if s.Queue.Length > 0 {
		fmt.Fprintf(w, " (no: %d still queued after %v)", s.Queue.Length, drillSettle)
	}
	fmt.Fprintln(w)
	if r.closeError != "" {
		fmt.Fprintf(w, "Close: %s\n", r.closeError)
	}

	failing := 0
	check := func(ok bool, what string) {
		verdict := "ok  "
		if !ok {
			verdict = "FAIL"
			failing++
		}
		fmt.Fprintf(w, "check %s %s\n", verdict, what)
	}
	fmt.Fprintln(w)
	check(r.sent > 0 && r.ok == r.sent, fmt.Sprintf("every page answered 200: %d of %d%s", r.ok, r.sent, lastFailed(r)))
	check(landings > 0 && float64(inTime) >= r.minStamped*float64(landings),
		fmt.Sprintf("stamped within %v ≥ %.0f%% of landings: %s", drillSettle, 100*r.minStamped, pct(inTime)))
	check(stamped+left+f.Queue.Failed+f.Landings.Dropped+other == landings && landings == int64(r.ok),
		fmt.Sprintf("accounting: stamped %d + left %d + failed %d + dropped %d + untracked %d = landings %d = answered 200 %d",
			stamped, left, f.Queue.Failed, f.Landings.Dropped, other, landings, r.ok))
	check(r.sessions >= stamped, fmt.Sprintf("every stamped landing's session is in Redis: %d hashes, %d stamped", r.sessions, stamped))
	return failing
}

func lastFailed(r drillResult) string {
	if r.lastFailed == "" {
		return ""
	}
	return " (last failure: " + r.lastFailed + ")"
}
