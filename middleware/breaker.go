package middleware

import (
	"sync/atomic"
	"time"
)

// breaker is a consecutive-failure circuit breaker. Closed, it lets every
// call through; after threshold consecutive failures it opens for cooldown,
// during which calls are refused without touching the store (an outage
// then costs nothing per request); afterwards one call at a time probes the
// store, and a success closes it again.
type breaker struct {
	threshold int64 // <= 0: never opens
	cooldown  time.Duration
	fails     atomic.Int64
	openUntil atomic.Int64 // unix nanos; 0 when closed
	probing   atomic.Bool
}

// allow reports whether a call may go to the store now. When it returns
// true with probe set, the caller must report the outcome.
func (b *breaker) allow(now time.Time) bool {
	until := b.openUntil.Load()
	if until == 0 {
		return true
	}
	if now.UnixNano() < until {
		return false
	}
	// Half-open: one probe at a time.
	return b.probing.CompareAndSwap(false, true)
}

func (b *breaker) success() {
	if b.fails.Load() != 0 {
		b.fails.Store(0)
	}
	if b.openUntil.Load() != 0 {
		b.openUntil.Store(0)
	}
	b.probing.Store(false)
}

// failure records a failed call and reports whether the breaker (re)opened.
func (b *breaker) failure(now time.Time) bool {
	n := b.fails.Add(1)
	opened := false
	if b.threshold > 0 && n >= b.threshold {
		b.openUntil.Store(now.Add(b.cooldown).UnixNano())
		opened = true
	}
	b.probing.Store(false)
	return opened
}
