package middleware_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/middleware"
)

// hungServer accepts connections and never answers, like a Redis stuck
// in a long command or behind a dead network path.
func hungServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRedisOutageFailsOpen runs the middleware on a redisstore whose Redis
// is down (connection refused) or hung (accepts, never answers): every page
// is served with status 200 and the same body; each request's store call
// ends by its own StoreTimeout, well inside the request's deadline, until
// the breaker opens; then no command is sent.
func TestRedisOutageFailsOpen(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{"refused": closedPort, "hung": hungServer} {
		t.Run(name, func(t *testing.T) {
			// go-redis' defaults (3s read timeout, 3 retries) would hold a
			// page for seconds: the store's documented settings bound it.
			rdb := redis.NewClient(redisstore.RecommendedOptions(addr(t)).Simple())
			defer rdb.Close()
			counter := redistest.CountRoundTrips(rdb)
			var errs atomic.Int64
			mw := newMW(t, redisstoretest.New(rdb, redisstore.Options{Prefix: "tracklinktest-outage:"}), func(c *middleware.Config) {
				c.StoreTimeout = 30 * time.Millisecond
				c.BreakerThreshold = 3
				c.BreakerCooldown = time.Hour
				c.QueueSize = -1 // the breaker alone: the queue would send its commands later
				c.Hooks.OnError = func(context.Context, error) { errs.Add(1) }
			})
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<h1>Summer Fest</h1>") }))

			for i := 0; i < 20; i++ {
				// A bound on a hang, not a speed target: the request's own
				// deadline is generous, and a store call that ignored
				// StoreTimeout (go-redis' defaults hold a hung call for
				// 3 s per try, 4 tries) would still be waiting when it
				// passed.
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				rec := serve(h, landing("/events/summer-fest?promoter=ana").WithContext(ctx))
				assert.NoError(t, ctx.Err(), "request %d waited for Redis until the request's own deadline", i)
				cancel()
				assert.Equal(t, http.StatusOK, rec.Code)
				assert.Equal(t, "<h1>Summer Fest</h1>", rec.Body.String())
			}
			sent := counter.N()
			// Three stamps before the breaker opens, each tried at most twice
			// (RecommendedOptions allows one retry inside the deadline).
			assert.LessOrEqual(t, sent, int64(6), "commands stop once the breaker is open")
			assert.NotZero(t, errs.Load(), "the outage was reported")

			for i := 0; i < 10; i++ {
				serve(h, landing("/events/summer-fest?promoter=ana"))
			}
			assert.Equal(t, sent, counter.N(), "an open breaker costs nothing per request")
		})
	}
}

// TestRedisOutageQueuesStamps: with Redis cut off (a proxy in front of the
// test server goes down), landings are served, the breaker opens and the
// landings it refuses are queued; when Redis is back the queue writes
// them, and Close returns with nothing left.
func TestRedisOutageQueuesStamps(t *testing.T) {
	base, mr := redistest.Client(t)
	target := base.Options().Addr
	if mr != nil {
		target = mr.Addr()
	}
	proxy := redistest.NewProxy(t, target)
	rdb := redis.NewClient(redisstore.RecommendedOptions(proxy.Addr()).Simple())
	defer rdb.Close()
	store := redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, base)})
	// The breaker's clock jumps past its cooldown when Redis is back:
	// until then every landing after the first two is queued, however long
	// a refused dial takes.
	var skew atomic.Int64
	mw := newMW(t, store, func(c *middleware.Config) {
		c.StoreTimeout = time.Second // a bound on a hang; the cut connection fails at once
		c.BreakerThreshold = 2
		c.BreakerCooldown = time.Minute
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	h := mw.Handler(page)

	proxy.Down()
	const n = 10
	var sessions []string
	for i := range n {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		rec := serve(h, landing("/events/summer-fest?promoter=ana").WithContext(ctx))
		require.NoError(t, ctx.Err(), "request %d waited for Redis until the request's own deadline", i)
		cancel()
		assert.Equal(t, http.StatusOK, rec.Code)
		require.Len(t, rec.Result().Cookies(), 1)
		sessions = append(sessions, strings.Fields(rec.Body.String())[0])
	}
	s := mw.Stats()
	assert.EqualValues(t, n, s.Landings.Total())
	assert.EqualValues(t, 2, s.Landings.StoreError, "two failures opened the breaker")
	assert.EqualValues(t, n-2, s.Landings.Queued, "the breaker's refusals are queued")

	proxy.Up()
	skew.Store(int64(2 * time.Minute))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, mw.Close(ctx))
	s = mw.Stats()
	checkInvariant(t, s)
	assert.EqualValues(t, n-2, s.Queue.Stamped, "the queue waited for the cooldown and wrote them all")
	stamped := 0
	for _, ref := range sessions {
		ev, _, err := store.Touches(t.Context(), ref, "summer-fest")
		require.NoError(t, err)
		if ev != nil {
			stamped++
			assert.Equal(t, "ana", ev.Promoter)
		}
	}
	assert.EqualValues(t, s.Queue.Stamped, stamped, "the queue's stamps are in Redis")
}

// TestHungRedisCloseGivesUp: on a Redis that never answers, the landings
// are served and queued, and Close returns when its context ends, counting
// the stamps it could not write.
func TestHungRedisCloseGivesUp(t *testing.T) {
	rdb := redis.NewClient(redisstore.RecommendedOptions(hungServer(t)).Simple())
	defer rdb.Close()
	mw := newMW(t, redisstoretest.New(rdb, redisstore.Options{Prefix: "tracklinktest-hung:"}), func(c *middleware.Config) {
		c.StoreTimeout = 30 * time.Millisecond
		c.BreakerThreshold = -1
	})
	h := mw.Handler(page)
	const n = 5
	for i := range n {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		rec := serve(h, landing("/events/summer-fest?promoter=ana").WithContext(ctx))
		assert.NoError(t, ctx.Err(), "request %d waited for Redis until the request's own deadline", i)
		cancel()
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Len(t, rec.Result().Cookies(), 1)
	}
	assert.EqualValues(t, n, mw.Stats().Landings.Queued)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := mw.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	s := mw.Stats()
	assert.Equal(t, s.Landings.Queued, s.Queue.Abandoned+s.Queue.Failed)
	assert.NotZero(t, s.Queue.Abandoned)
	checkInvariant(t, s)
}
