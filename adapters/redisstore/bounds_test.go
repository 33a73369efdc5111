package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/internal/redistest"
)

// TestSessionHashBounded lands one session on 60,000 distinct events (6,000
// with -short) on a private Redis: the session's hash stays at the cap
// (MaxSessionEvents events) and no call is slow by Redis's own measure
// (SLOWLOG), where a sweep over a growing hash once blocked Redis for a
// second.
func TestSessionHashBounded(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	s := mustNew(rdb, Options{Prefix: "bounds:"})
	ctx := context.Background()
	sess := "abcdefghijklmnopqrstuv"
	n := 60000
	if testing.Short() {
		n = 6000
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	landing := func(i int) tracklink.Stamp {
		src := fmt.Sprintf("src%d", i%50)
		ev := fmt.Sprintf("ev-%06d", i)
		return tracklink.Stamp{Session: sess, TTL: time.Hour, Touch: tracklink.Touch{
			Channel: tracklink.ChannelCampaign, Source: src,
			UTM:   tracklink.UTM{Source: src, Campaign: strings.Repeat("c", 100)},
			Event: ev, Path: "/events/" + ev, At: at.Add(time.Duration(i) * time.Millisecond),
			Evidence: "param utm_source=" + src,
		}}
	}
	// The bulk runs Stamp's own script call in pipelines of 500 from 4
	// goroutines (a script or many tabs hammering one cookie), so that it
	// takes seconds under -race on a busy machine. It only marks (MarkOnly):
	// the session's hash is the same, and the server is spared 180,000
	// event counters; the sample below counts as Stamp does by default.
	const workers, batch = 4, 500
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			calls := make([]scriptCall, 0, batch)
			for first := w * batch; first < n; first += workers * batch {
				calls = calls[:0]
				for i := first; i < min(first+batch, n); i++ {
					st := landing(i)
					st.MarkOnly = true
					c, _, err := s.stampCall(st)
					if err != nil {
						errs <- err
						return
					}
					calls = append(calls, c)
				}
				if err := execScripts(ctx, rdb, calls); err != nil {
					errs <- fmt.Errorf("stamps %d to %d: %w", first, first+len(calls)-1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("bulk: %d stamps in %v", n, time.Since(start))
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	land := func(i int) error {
		_, err := s.Stamp(ctx, landing(i))
		return err
	}

	// Rounds of 128 landings, one after another, with every call logged
	// (Redis logs a script's EVALSHA and each command it runs). A call
	// slowed by its work (a walk over a growing hash) is slow in every
	// round; one slowed by the machine (the server descheduled mid-script
	// on a loaded host) is not, so a round whose slowest call stays under
	// 5 ms passes, and up to 3 rounds are tried.
	const sample, keep, limit = 128, 64 * 128, 5 * time.Millisecond
	next := n
	var slowest []time.Duration
	for range 3 {
		redistest.SlowlogAll(t, rdb, keep)
		for range sample {
			if err := land(next); err != nil {
				t.Fatalf("Stamp %d: %v", next, err)
			}
			next++
		}
		logs := redistest.Slowlog(t, rdb, keep)
		stamps := 0
		for _, l := range logs {
			if strings.EqualFold(l.Args[0], "evalsha") {
				stamps++
			}
		}
		if stamps != sample {
			t.Fatalf("SLOWLOG holds %d EVALSHA (of %d entries), want %d: every call should be logged", stamps, len(logs), sample)
		}
		slowest = append(slowest, logs[0].Took)
		t.Logf("SLOWLOG, %d stamps on a session at its cap (%d entries): slowest %v (%s)", stamps, len(logs), logs[0].Took, logs[0].Args[0])
		if logs[0].Took < limit {
			break
		}
	}
	if last := slowest[len(slowest)-1]; last >= limit {
		t.Errorf("slowest call of each round took %v by Redis's measure, want < %v", slowest, limit)
	}
	// and no command that walks a hash ran at all
	stats, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"hkeys", "hgetall", "hvals", "hscan"} {
		if strings.Contains(stats, "cmdstat_"+cmd+":") {
			t.Errorf("INFO commandstats: %s ran; no call may walk the session hash", strings.ToUpper(cmd))
		}
	}

	key := s.sessionKey(sess)
	fields, err := rdb.HLen(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// c: and m: per event, and the landing order q with its length n
	if want := int64(2*MaxSessionEvents + 2); fields != want {
		t.Errorf("session hash has %d fields after %d events, want %d", fields, next, want)
	}
	mem, _ := rdb.MemoryUsage(ctx, key, 0).Result()
	t.Logf("session hash at the cap: %d fields, %d bytes (MEMORY USAGE)", fields, mem)
	for i := next - MaxSessionEvents; i < next; i++ {
		ev, _, err := s.Touches(ctx, sess, fmt.Sprintf("ev-%06d", i))
		if err != nil || ev == nil {
			t.Fatalf("Touches(ev-%06d) = %v, %v; want the touch of one of the newest events", i, ev, err)
		}
	}
	if ev, _, err := s.Touches(ctx, sess, fmt.Sprintf("ev-%06d", next-MaxSessionEvents-1)); err != nil || ev != nil {
		t.Errorf("Touches of a dropped event = %v, %v; want nil", ev, err)
	}
	if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl <= 0 {
		t.Errorf("session hash PTTL = %v, %v; want a TTL", ttl, err)
	}
}
