package middleware_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
)

// gateStore is a memstore whose Stamp waits, while the gate is shut, until
// it opens or the call's context ends: a store that is slow past any
// deadline and then recovers.
type gateStore struct {
	*memstore.Store
	mu      sync.Mutex
	gate    chan struct{} // closed: open
	calls   atomic.Int64
	waiting atomic.Int64 // calls held at the gate now
}

func newGateStore() *gateStore {
	return &gateStore{Store: memstore.New(), gate: make(chan struct{})}
}

func (s *gateStore) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.gate:
	default:
		close(s.gate)
	}
}

func (s *gateStore) Stamp(ctx context.Context, st tracklink.Stamp) (tracklink.StampResult, error) {
	s.calls.Add(1)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	s.waiting.Add(1)
	select {
	case <-gate:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return tracklink.StampResult{}, ctx.Err()
	}
	return s.Store.Stamp(ctx, st)
}

// slowMW is a middleware on s whose request path gives the store 5 ms and
// whose queue waits long enough for any test.
func slowMW(t *testing.T, s tracklink.Store, mut ...func(*middleware.Config)) *middleware.Middleware {
	return newMW(t, s, append([]func(*middleware.Config){func(c *middleware.Config) {
		c.StoreTimeout = 5 * time.Millisecond
		c.QueueTimeout = time.Minute
		c.BreakerThreshold = -1
	}}, mut...)...)
}

// sessionOf is the session the page handler echoed.
func sessionOf(t *testing.T, body string) string {
	t.Helper()
	f := strings.Fields(body)
	require.NotEmpty(t, f, "the page got a session")
	return f[0]
}

// closeCtx closes mw within a bound on a hang.
func closeCtx(t *testing.T, mw *middleware.Middleware) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, mw.Close(ctx), "Close drained the queue")
}

// TestSlowStoreQueuesThenStamps: landings that miss the deadline are
// served with their cookie and queued, and stamped (at the landing's
// time) once the store answers again.
func TestSlowStoreQueuesThenStamps(t *testing.T) {
	at := time.Date(2026, 11, 20, 23, 59, 0, 0, time.UTC)
	gs := newGateStore()
	var late atomic.Int64
	mw := slowMW(t, gs, func(c *middleware.Config) {
		c.Now = func() time.Time { return at }
		c.Hooks.OnVisit = func(_ context.Context, v tracklink.Visit, counted bool) {
			if v.Tracked && counted && v.Current.Promoter == "ana" {
				late.Add(1)
			}
		}
	})
	h := mw.Handler(page)

	const n = 20
	var sessions []string
	for range n {
		// A bound on a hang: the page must not wait for the store.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		rec := serve(h, landing("/events/summer-fest?promoter=ana").WithContext(ctx))
		require.NoError(t, ctx.Err(), "the page waited for the store")
		cancel()
		assert.Equal(t, http.StatusOK, rec.Code)
		require.Len(t, rec.Result().Cookies(), 1, "the cookie is set although the stamp is queued")
		sessions = append(sessions, sessionOf(t, rec.Body.String()))
	}
	s := mw.Stats()
	assert.EqualValues(t, n, s.Landings.Queued)
	assert.Zero(t, s.Landings.Stamped)
	assert.Zero(t, s.Landings.Dropped)
	assert.Zero(t, s.Queue.Stamped, "nothing written while the store is stuck")

	gs.open()
	closeCtx(t, mw)
	s = mw.Stats()
	assert.EqualValues(t, n, s.Queue.Stamped)
	assert.Zero(t, s.Queue.Length)
	assert.EqualValues(t, n, late.Load(), "OnVisit ran for each late stamp")
	checkInvariant(t, s)
	for _, ref := range sessions {
		ev, _, err := gs.Touches(t.Context(), ref, "summer-fest")
		require.NoError(t, err)
		require.NotNil(t, ev, "session %s stamped", ref)
		assert.Equal(t, "ana", ev.Promoter)
		assert.True(t, ev.At.Equal(at), "the touch keeps the landing's time")
	}
}

// TestQueueFullDrops: past QueueSize, stamps are dropped and counted.
func TestQueueFullDrops(t *testing.T) {
	gs := newGateStore()
	mw := slowMW(t, gs, func(c *middleware.Config) { c.QueueSize = 2 })
	h := mw.Handler(page)
	const n = 30
	for range n {
		rec := serve(h, landing("/events/summer-fest?promoter=ana"))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Len(t, rec.Result().Cookies(), 1, "a dropped stamp's page still gets its cookie")
	}
	s := mw.Stats()
	assert.EqualValues(t, n, s.Landings.Queued+s.Landings.Dropped)
	// Two wait in the queue and each worker holds at most one.
	assert.LessOrEqual(t, s.Landings.Queued, int64(2+4))
	assert.GreaterOrEqual(t, s.Landings.Dropped, int64(n-2-4))

	gs.open()
	closeCtx(t, mw)
	s = mw.Stats()
	assert.Equal(t, s.Landings.Queued, s.Queue.Stamped)
	checkInvariant(t, s)
	assert.EqualValues(t, n, s.Landings.Stamped+s.Queue.Stamped+s.Landings.Dropped)
}

// TestCloseGivesUpAtItsDeadline: Close waits for a stuck store only until
// its context ends, then counts and reports what was left.
func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	gs := newGateStore()
	mw := slowMW(t, gs)
	h := mw.Handler(page)
	const n = 10
	for range n {
		serve(h, landing("/events/summer-fest?promoter=ana"))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := mw.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "10 queued stamps left unwritten")
	s := mw.Stats()
	assert.EqualValues(t, n, s.Queue.Abandoned)
	assert.Zero(t, s.Queue.Length)
	assert.Zero(t, gs.waiting.Load(), "no store call outlives Close")
	checkInvariant(t, s)

	// After Close a landing the store does not answer in time goes
	// untracked, counted by its reason.
	serve(h, landing("/events/summer-fest?promoter=ana"))
	assert.EqualValues(t, 1, mw.Stats().Landings.Deadline)
	require.NoError(t, mw.Close(t.Context()), "a second Close has nothing to do")
}

// TestQueueWaitsForTheBreaker: landings refused by an open breaker are
// queued; the queue waits for the cooldown, then writes them.
func TestQueueWaitsForTheBreaker(t *testing.T) {
	gs := newGateStore()
	mw := slowMW(t, gs, func(c *middleware.Config) {
		c.BreakerThreshold = 2
		c.BreakerCooldown = 20 * time.Millisecond
		c.QueueTimeout = 20 * time.Millisecond // the stuck store fails the queue's calls too
	})
	h := mw.Handler(page)
	const n = 10
	var sessions []string
	for range n {
		rec := serve(h, landing("/events/summer-fest?promoter=ana"))
		sessions = append(sessions, sessionOf(t, rec.Body.String()))
	}
	s := mw.Stats()
	assert.EqualValues(t, n, s.Landings.Queued, "deadline and breaker-open landings are queued")
	gs.open()
	closeCtx(t, mw)
	s = mw.Stats()
	checkInvariant(t, s)
	// Each queued stamp has 5 attempts of 20 ms against the stuck store;
	// one that used them all up before the gate opened is failed.
	assert.Equal(t, s.Landings.Queued, s.Queue.Stamped+s.Queue.Failed)
	assert.NotZero(t, s.Queue.Stamped)
	stamped := 0
	for _, ref := range sessions {
		if ev, _, err := gs.Touches(t.Context(), ref, "summer-fest"); err == nil && ev != nil {
			stamped++
		}
	}
	assert.EqualValues(t, s.Queue.Stamped, stamped)
}

// TestConcurrentLandingsAreAccounted: under concurrent requests of every
// kind, while the store stalls and recovers, every request is counted once
// and every queued stamp ends in one outcome.
func TestConcurrentLandingsAreAccounted(t *testing.T) {
	gs := newGateStore()
	mw := slowMW(t, gs, func(c *middleware.Config) {
		c.QueueSize = 50
		c.BreakerThreshold = 3
		c.BreakerCooldown = 10 * time.Millisecond
	})
	h := mw.Handler(page)
	reqs := []func() *http.Request{
		func() *http.Request { return landing("/events/summer-fest?promoter=ana") },
		func() *http.Request { return landing("/?utm_source=newsletter") },
		func() *http.Request { return landing("/about", "Referer", "http://"+siteHost+"/") },
		func() *http.Request { return landing("/events/summer-fest", "User-Agent", "curl/8.5.0") },
		func() *http.Request { return landing("/static/app.js") },
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	var sent atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if w == 0 && i == each/2 {
					gs.open() // the store recovers mid-run
				}
				serve(h, reqs[(w+i)%len(reqs)]())
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	closeCtx(t, mw)
	s := mw.Stats()
	assert.Equal(t, sent.Load(), s.Requests)
	checkInvariant(t, s)
	assert.Equal(t, s.Landings.Queued, s.Queue.Stamped+s.Queue.Failed+s.Queue.Abandoned)
	assert.Zero(t, s.Queue.Abandoned, "Close drained")
	assert.Zero(t, s.Queue.Length)
	assert.EqualValues(t, workers*each*2/len(reqs), s.Landings.Total(), "two kinds in five are landings")
}

// TestQueueHoldsOffWhileTheBreakerIsOpen: on a clock that stands still the
// breaker never cools down, so the queue leaves the store alone; once the
// clock passes the cooldown the queue probes and writes what it holds.
func TestQueueHoldsOffWhileTheBreakerIsOpen(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cs := &countingStore{Store: memstore.New()}
	mw := newMW(t, cs, func(c *middleware.Config) {
		c.BreakerThreshold, c.BreakerCooldown, c.Now = 2, time.Minute, clock
	})
	h := mw.Handler(page)
	cs.fail.Store(true)
	var sessions []string
	for range 6 {
		rec := serve(h, landing("/events/summer-fest?promoter=ana"))
		sessions = append(sessions, sessionOf(t, rec.Body.String()))
	}
	s := mw.Stats()
	assert.EqualValues(t, 2, s.Landings.StoreError, "two failures opened the breaker")
	assert.EqualValues(t, 4, s.Landings.Queued, "the landings it refused are queued")
	cs.fail.Store(false)
	// The breaker refuses every call until the clock moves: the queue
	// cannot have called the store, whatever the scheduling.
	assert.EqualValues(t, 2, cs.stamps.Load())

	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	closeCtx(t, mw)
	s = mw.Stats()
	assert.EqualValues(t, 4, s.Queue.Stamped)
	assert.EqualValues(t, 2+4, cs.stamps.Load(), "one call per queued stamp")
	checkInvariant(t, s)
	for i, ref := range sessions {
		ev, _, err := cs.Touches(t.Context(), ref, "summer-fest")
		require.NoError(t, err)
		assert.Equal(t, i >= 2, ev != nil, "landing %d", i)
	}
}
