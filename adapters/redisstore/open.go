package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrUnsafeServer is wrapped by New's error when the server may lose
// ledger data (see CheckServer).
var ErrUnsafeServer = errors.New("redisstore: the Redis server may lose ledger data")

// ErrSessionsOnly is wrapped by the ledger writes of a store made with
// Options.SessionsOnly.
var ErrSessionsOnly = errors.New("redisstore: the store holds sessions only")

// CheckServer reports (wrapping ErrUnsafeServer) whether a server the
// ledger lives on may lose its data:
//
//   - maxmemory-policy must be noeviction or a volatile-* policy. Ledger
//     keys (order claims, figures, the registry) have no TTL, so
//     volatile-lru, -lfu, -ttl and -random never evict them; the session
//     side's keys all have one. The exception is the tombstone of a
//     refund that came before its order (Options.OrderTTL): under memory
//     pressure a volatile-* policy may drop it early, and the late order
//     then counts. noeviction refuses writes instead, which the webhook
//     answers 503 and the provider retries.
//   - appendonly must be yes: with snapshots only, a restart loses every
//     write since the last one, orders answered 2xx included.
//
// On a Cluster it checks every master. A server that refuses CONFIG GET
// (some managed offerings rename it) cannot be checked: the error says
// so; set Options.AllowUnsafeServer once you checked by other means.
func (s *Store) CheckServer(ctx context.Context) error {
	check := func(ctx context.Context, c *redis.Client) error {
		m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return fmt.Errorf("redisstore: check server %s: CONFIG GET: %w (set Options.AllowUnsafeServer if it is safe)", c.Options().Addr, err)
		}
		aof, err := c.ConfigGet(ctx, "appendonly").Result()
		if err != nil {
			return fmt.Errorf("redisstore: check server %s: CONFIG GET: %w (set Options.AllowUnsafeServer if it is safe)", c.Options().Addr, err)
		}
		return checkSettings(c.Options().Addr, m["maxmemory-policy"], aof["appendonly"])
	}
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, check)
	case *redis.Client:
		return check(ctx, c)
	default:
		// a Ring or another client: ask through it, once
		m, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return fmt.Errorf("redisstore: check server: CONFIG GET: %w (set Options.AllowUnsafeServer if it is safe)", err)
		}
		aof, err := s.rdb.ConfigGet(ctx, "appendonly").Result()
		if err != nil {
			return fmt.Errorf("redisstore: check server: CONFIG GET: %w (set Options.AllowUnsafeServer if it is safe)", err)
		}
		return checkSettings("", m["maxmemory-policy"], aof["appendonly"])
	}
}

// checkSettings applies CheckServer's rules to one server's settings.
func checkSettings(addr, policy, appendonly string) error {
	var bad []string
	if policy != "noeviction" && !strings.HasPrefix(policy, "volatile-") {
		bad = append(bad, fmt.Sprintf("maxmemory-policy is %q (want noeviction or volatile-*: an eviction can drop an order's claim, and a redelivered order then counts twice)", policy))
	}
	if appendonly != "yes" {
		bad = append(bad, fmt.Sprintf("appendonly is %q (want yes: a restart loses the writes since the last snapshot, orders answered 2xx included)", appendonly))
	}
	if len(bad) == 0 {
		return nil
	}
	where := ""
	if addr != "" {
		where = " " + addr
	}
	return fmt.Errorf("%w%s: %s; fix the server or set Options.AllowUnsafeServer (tests, demos) or Options.SessionsOnly (a session store)", ErrUnsafeServer, where, strings.Join(bad, "; "))
}
