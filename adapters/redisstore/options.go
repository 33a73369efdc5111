package redisstore

import (
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// Options configure a Store. The zero value is ready to use: every field's
// comment says its default and how to turn it off.
type Options struct {
	// Prefix starts every key the store writes and the pub/sub channel it
	// publishes changes on (Prefix + "changes"). Give each application (or
	// each test) sharing a Redis its own prefix. It must not contain '{' or
	// '}', which would change the keys' Redis Cluster hash tags. Default is
	// "tracklink:"; it cannot be empty.
	Prefix string

	// OrderTTL is how long the store remembers a refund that arrived before
	// its order (the tombstone that makes a late Record count nothing).
	// Recorded orders are kept for good: they are the reporting record.
	// Default is 30 days; a negative value keeps tombstones forever.
	OrderTTL time.Duration

	// MaxSources caps the distinct source keys (Touch.Key) an event counts
	// visits under, and separately those it counts orders under, all time
	// (each day's keys are a subset). Source keys come from outside input
	// (referrers, utm_source, promoter codes in URLs) and the counters
	// never expire, so once an event holds MaxSources keys a visit or order
	// whose key is new counts under OtherKey instead; keys already there
	// keep counting. A capped order's attribution keeps its real touch
	// (and its promoter's figures). The scripts check it (HEXISTS/HLEN on
	// the event's visit hash, a key set on the order side): no extra round
	// trip. Default DefaultMaxSources (1,000); a negative value removes the
	// cap.
	MaxSources int

	// OrdersBatch is how many orders Orders reads per round trip.
	// Default is 256.
	OrdersBatch int

	// SubscribeBuffer is the size of the channel Subscribe returns; a
	// subscriber that falls further behind loses changes. Default is 64.
	SubscribeBuffer int

	// SessionsOnly declares a store that holds the session side only (the
	// sessions of a tracklink.Compose whose ledger lives elsewhere): New
	// then skips the server check, whose settings only the ledger needs
	// (every session key expires, so losing one costs a visit's
	// attribution, not a sale), and Record, Refund and CountVisits refuse
	// with ErrSessionsOnly. Default false.
	SessionsOnly bool

	// AllowUnsafeServer makes New accept a server that may lose ledger
	// data: one whose maxmemory-policy evicts keys without a TTL
	// (allkeys-*), which can drop order claims (a redelivered order then
	// counts twice) and figures, or one without the append-only file,
	// which loses every write since the last snapshot when it restarts
	// (orders answered 2xx and never redelivered are gone). For tests and
	// throwaway demos. Default false.
	AllowUnsafeServer bool

	// Now is the clock used for a touch stamped with a zero At and a refund
	// with a zero time. Expiry runs on Redis's own clock. Default is
	// time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultPrefix          = "tracklink:"
	DefaultOrderTTL        = 30 * 24 * time.Hour
	DefaultOrdersBatch     = 256
	DefaultMaxSources      = tracklink.DefaultMaxSources
	DefaultSubscribeBuffer = 64
)

func (o *Options) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.OrderTTL == 0 {
		o.OrderTTL = DefaultOrderTTL
	}
	if o.MaxSources == 0 {
		o.MaxSources = DefaultMaxSources
	}
	if o.OrdersBatch <= 0 {
		o.OrdersBatch = DefaultOrdersBatch
	}
	if o.SubscribeBuffer <= 0 {
		o.SubscribeBuffer = DefaultSubscribeBuffer
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// OtherKey is the source key ("referral|~other": channel referral, source
// "~other") that visits and orders count under once their event reached
// Options.MaxSources distinct keys: tracklink.OtherKey.
const OtherKey = tracklink.OtherKey

// maxSources is the cap handed to the scripts; 0 means none.
func (o *Options) maxSources() int { return max(o.MaxSources, 0) }

// RecommendedOptions returns client options whose waits are bounded, for a
// single node (one address), a Cluster (several) or, after setting
// MasterName, Sentinel. Pass them to redis.NewUniversalClient.
//
// go-redis's defaults can keep a request waiting for seconds on a hung
// server (3 s read and write timeouts, 3 retries with backoff, a pool wait
// of ReadTimeout + 1 s). tracklink calls the store on the request path, so
// these options let the caller's context deadline bound every call
// (ContextTimeoutEnabled), keep socket timeouts short, retry once, and wait
// at most 200 ms for a pooled connection.
func RecommendedOptions(addrs ...string) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:                 addrs,
		ContextTimeoutEnabled: true,
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           500 * time.Millisecond,
		WriteTimeout:          500 * time.Millisecond,
		PoolTimeout:           200 * time.Millisecond,
		MaxRetries:            1,
		MinRetryBackoff:       8 * time.Millisecond,
		MaxRetryBackoff:       64 * time.Millisecond,
	}
}

// validPrefix reports whether p keeps the store's hash tags intact.
func validPrefix(p string) bool {
	return p != "" && !strings.ContainsAny(p, "{}")
}
