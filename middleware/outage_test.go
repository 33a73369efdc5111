package middleware_test

import (
	"context"
	"io"
	"net"
	"net/http"
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
