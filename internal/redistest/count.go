package redistest

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RoundTrips counts the round trips a go-redis client makes: each command
// sent on its own and each pipeline (a script run with its NOSCRIPT
// fallback counts twice). The connection handshake is not counted.
type RoundTrips struct{ n atomic.Int64 }

// CountRoundTrips adds a counting hook to rdb.
func CountRoundTrips(rdb redis.UniversalClient) *RoundTrips {
	c := &RoundTrips{}
	rdb.AddHook(c)
	return c
}

// N returns the round trips so far.
func (c *RoundTrips) N() int64 { return c.n.Load() }

func (c *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "hello" {
			return next(ctx, cmds) // go-redis' connection handshake
		}
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// CommandUsec returns the microseconds of CPU the server has spent in
// commands since its statistics were last reset (INFO commandstats, the
// sum of every command's usec), or -1 when it cannot tell. The figure is
// the whole server's: a benchmark that reports its delta per operation is
// exact only when nothing else uses the server meanwhile.
func CommandUsec(ctx context.Context, rdb redis.UniversalClient) int64 {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return -1
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		_, rest, ok := strings.Cut(line, "usec=")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		v, _, _ := strings.Cut(rest, ",")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return -1
		}
		total += n
	}
	return total
}
