package memstore_test

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
)

// gcStats reads the garbage collector's cycles and its share of the
// process's CPU time (runtime/metrics).
func gcStats() (cycles uint64, gcCPU, totalCPU float64) {
	s := []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/total:cpu-seconds"},
	}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Float64(), s[2].Value.Float64()
}

// parallelRef returns a valid session reference for n, distinct per n.
func parallelRef(prefix byte, n uint64) string {
	var b [tracklink.SessionLen]byte
	for i := range b {
		b[i] = '0'
	}
	b[0] = prefix
	d := strconv.AppendUint(nil, n, 10)
	copy(b[len(b)-len(d):], d)
	return string(b[:])
}

// BenchmarkStampNewSessionsParallel stamps first landings of new sessions
// from every core (b.RunParallel) into a store already holding 1,000,000
// live sessions: new-visitor load on a large store. Beside ns/op it
// reports the garbage collector's cycles per million stamps and its share
// of the CPU time during the run, which grow with what the collector has
// to scan in the sessions held.
func BenchmarkStampNewSessionsParallel(b *testing.B) {
	const held = 1_000_000
	touch := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: "summer-fest", At: day, Evidence: "referrer l.instagram.com", Path: "/events/summer-fest"}
	s := memstore.New()
	ctx := b.Context()
	for i := range uint64(held) {
		if _, err := s.Stamp(ctx, tracklink.Stamp{Session: parallelRef('h', i), Touch: touch, TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	cycles0, gc0, cpu0 := gcStats()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ref := parallelRef('p', next.Add(1))
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: ref, Touch: touch, TTL: time.Hour}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	cycles1, gc1, cpu1 := gcStats()
	b.ReportMetric(float64(cycles1-cycles0)*1e6/float64(b.N), "gc-cycles/1M-stamps")
	if cpu1 > cpu0 {
		b.ReportMetric(100*(gc1-gc0)/(cpu1-cpu0), "gc-cpu-%")
	}
}
