package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// median of the known (non-NaN) values; NaN when none is.
func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// summary is a mode's medians over the rounds.
type summary struct {
	rps, p50, p99, serverCPU, redisCPU, trips, allocs float64
	requests, failed, noCookie, cookie                int
	absorbed                                          int64
	lastFailed                                        string
}

func summarize(rs []roundResult) summary {
	pick := func(f func(roundResult) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	s := summary{
		rps:       pick(func(r roundResult) float64 { return r.rps }),
		p50:       pick(func(r roundResult) float64 { return float64(r.p50) }),
		p99:       pick(func(r roundResult) float64 { return float64(r.p99) }),
		serverCPU: pick(func(r roundResult) float64 { return r.serverCPU }),
		redisCPU:  pick(func(r roundResult) float64 { return r.redisCPU }),
		trips:     pick(func(r roundResult) float64 { return r.trips }),
		allocs:    pick(func(r roundResult) float64 { return r.allocs }),
	}
	for _, r := range rs {
		s.requests += r.requests
		s.failed += r.failed
		s.noCookie += r.noCookie
		s.cookie += r.cookie
		s.absorbed += r.absorbed
		if r.lastFailed != "" {
			s.lastFailed = r.lastFailed
		}
	}
	return s
}

func (b *bench) report(w io.Writer) {
	sums := map[string]summary{}
	for _, m := range b.cfg.modes {
		sums[m.name] = summarize(b.results[m.name])
	}
	fmt.Fprintf(w, "\n%d rounds × %v per mode (after %v warm-up), %d keep-alive connections, closed loop; "+
		"GOMAXPROCS %d, %d CPUs; medians over the rounds\n\n",
		b.cfg.rounds, b.cfg.duration, b.cfg.warmup, b.cfg.conns, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(w, "| mode | req/s | × bare | × naive | p50 | p99 | server CPU/req | × bare | × naive | Redis CPU/req | Redis round trips/req | allocs/req | anomalies |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	bare, haveBare := sums["bare"]
	for _, m := range b.cfg.modes {
		s := sums[m.name]
		ratio := func(a, ref float64, ok bool) string {
			if !ok || math.IsNaN(a) || math.IsNaN(ref) || ref == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", a/ref)
		}
		peer, havePeer := sums[m.peer]
		havePeer = havePeer && m.peer != ""
		fmt.Fprintf(w, "| %s | %s | %s | %s | %v | %v | %s | %s | %s | %s | %s | %s | %s |\n",
			m.name, thousands(s.rps),
			ratio(s.rps, bare.rps, haveBare), ratio(s.rps, peer.rps, havePeer),
			round(time.Duration(s.p50)), round(time.Duration(s.p99)),
			micros(s.serverCPU),
			ratio(s.serverCPU, bare.serverCPU, haveBare), ratio(s.serverCPU, peer.serverCPU, havePeer),
			micros(s.redisCPU), fixed(s.trips, 2), fixed(s.allocs, 0), anomalies(s))
	}
	fmt.Fprintln(w)
	for _, m := range b.cfg.modes {
		fmt.Fprintf(w, "- %s: %s\n", m.name, m.what)
	}
	fmt.Fprintln(w, "\nCPU per request is the process's utime + stime over the requests it served; "+
		"Redis CPU is INFO cpu of the whole server (anything else using it counts too); "+
		"× naive compares a new visitor with naive-redis-new and a returning one with naive-redis-cookie.")
}

func anomalies(s summary) string {
	var a []string
	n := func(v int64) string { return thousands(float64(v)) }
	if s.failed > 0 {
		a = append(a, fmt.Sprintf("%s of %s failed (%s)", n(int64(s.failed)), n(int64(s.requests)), s.lastFailed))
	}
	if s.noCookie > 0 {
		a = append(a, fmt.Sprintf("%s without a session cookie", n(int64(s.noCookie))))
	}
	if s.cookie > 0 {
		a = append(a, fmt.Sprintf("%s set a cookie", n(int64(s.cookie))))
	}
	if s.absorbed == 1 {
		a = append(a, "1 store error absorbed")
	} else if s.absorbed > 1 {
		a = append(a, fmt.Sprintf("%s store errors absorbed", n(s.absorbed)))
	}
	if len(a) == 0 {
		return "none"
	}
	return strings.Join(a, "; ")
}

func micros(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v < 10 {
		return fmt.Sprintf("%.1f µs", v)
	}
	return fmt.Sprintf("%.0f µs", v)
}

func fixed(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
