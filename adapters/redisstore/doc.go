// Package redisstore is a tracklink store of every role on Redis (go-redis
// v9): a single node, Sentinel or Cluster, shared by any number of app
// instances. It serves everything for a small shop, or only the session
// side (tracklink.SessionStore) in front of a ledger on PostgreSQL
// (tracklink.Compose with adapters/pgstore).
//
//	rdb := redis.NewUniversalClient(redisstore.RecommendedOptions("127.0.0.1:6379"))
//	store, err := redisstore.New(ctx, rdb, redisstore.Options{Prefix: "myshop:"})
//
// New takes a ready client and, for a store that holds the ledger, checks
// that the server cannot lose it (CheckServer). Every operation that changes
// figures is one Lua script, so it is atomic; Stamp and Record are one
// round trip (see Stamp for the one Cluster exception). The semantics are
// memstore's, checked by tracklinktest.TestStore.
//
// # Bounding the wait (Redis client hygiene)
//
// tracklink calls the store on the request path, and go-redis's defaults
// can hold a request for seconds on a hung server: 3 s read and write
// timeouts, 3 retries with backoff, and a pool wait of ReadTimeout + 1 s.
// Give the client options that bound it:
//
//   - ContextTimeoutEnabled: true, so the caller's context deadline (the
//     middleware's short store timeout) bounds each call's socket reads and
//     writes;
//   - short ReadTimeout and WriteTimeout (hundreds of milliseconds) for
//     callers without a deadline;
//   - MaxRetries: 1 (or -1 for none), so a dead server is not tried four
//     times;
//   - a short PoolTimeout, so a burst does not queue behind a stuck pool.
//
// RecommendedOptions returns such options:
//
//	&redis.UniversalOptions{
//		Addrs:                 addrs,
//		ContextTimeoutEnabled: true,
//		DialTimeout:           500 * time.Millisecond,
//		ReadTimeout:           500 * time.Millisecond,
//		WriteTimeout:          500 * time.Millisecond,
//		PoolTimeout:           200 * time.Millisecond,
//		MaxRetries:            1,
//		MinRetryBackoff:       8 * time.Millisecond,
//		MaxRetryBackoff:       64 * time.Millisecond,
//	}
//
// # Keys and Redis Cluster
//
// Every key starts with Options.Prefix (default "tracklink:") and carries a
// hash tag, so each script touches one slot:
//
//   - {s:<session>}: one hash per browser session holding its touches (one
//     per event, at most MaxSessionEvents of them, plus one for site-wide
//     pages) and the visits it already counted (one day per scope, at most
//     tracklink.MaxEventMarks source keys). One key per session means one
//     PEXPIRE slides the whole session, as the contract asks: a landing on
//     any page keeps all of its touches alive for TTL. It is the only key
//     an anonymous landing creates, and it always has a TTL.
//   - {e:<event>}: the event's visit counters (per day and all time); {e:}
//     is the site-wide scope. Visits, the high-volume path, spread across the
//     cluster by session and event.
//   - {o}: every order, the order aggregates, the order indexes, the
//     promoters' figures and the registry (promoters, promo codes, groups,
//     links). Exactly once needs the claim, the aggregates and the outbox in
//     one atomic script, and a script can only touch one slot; a ticket
//     shop's order rate is far below what one Redis node serves.
//
// On a single node or Sentinel, Stamp's script also counts the visit (Redis
// outside cluster mode lets a script touch keys of any hash tag). On a
// Cluster (or a Ring: any client other than *redis.Client) the session and
// the event counters live in different slots: Stamp then runs the session
// script and, only when a visit is newly counted, one more pipeline that
// counts it.
//
// When a Cluster master dies and its replica takes over, calls to its slots
// fail until the client learns the new master. go-redis learns it from a
// MOVED reply or every ClusterStateReloadInterval (60 s by default), and a
// dead node sends no MOVED, so the store asks the client to reload its slot
// map after each call that fails with a connection error (asynchronous and
// coalesced). A promoted replica has no scripts cached; they are loaded
// again where needed, and a pipelined script never runs twice.
//
// # Expiry
//
// A session's hash expires TTL after its last Stamp (Redis expires it by
// its own clock). Orders, aggregates and the registry never expire; an
// early refund's tombstone lives Options.OrderTTL (default 30 days).
//
// So under maxmemory-policy volatile-lru (or volatile-ttl) Redis makes room
// by evicting sessions only, never an order's claim, the aggregates or the
// registry: anonymous traffic can cost attributions of sessions evicted
// early, never an order counted twice. allkeys-* policies may evict an
// order's claim (a redelivery would then count it again): do not use them.
// Sessions are one bounded hash each (a few hundred bytes for a visitor who
// lands on one event); see the README for the figures.
//
// # Live feed
//
// Record and Refund PUBLISH each change on Prefix+"changes" from inside
// their scripts; Subscribe listens there. Pub/sub is at most once: the
// outbox (Record.Pending), not the feed, guarantees hooks.
//
// # Errors
//
// redis.Nil never leaves the package: a missing touch, order, promoter or
// link is "not found", not an error. Other errors are wrapped as
// "redisstore: <op>: …". Input that would write an odd key (a malformed
// session reference, event slug, promoter code, link id, date range) wraps
// ErrInvalid and writes nothing; a promo code owned by another promoter
// wraps ErrConflict.
package redisstore
