package middleware

import (
	"sync/atomic"
)

// Stats is a snapshot of what became of the requests a Middleware served,
// from counters kept since New. Every request through Handler ends in
// exactly one outcome, counted once when its page is served: either it is
// not a landing (Skipped, by reason), or it is a landing (it passed the
// tracking checks) and Landings says what became of its stamp; a queued
// stamp later ends in one outcome of Queue. So
//
//	Requests == Skipped.Total() + Landings.Total()
//	Landings.Queued == Queue.Stamped + Queue.Failed + Queue.Abandoned + Queue.Length
//
// and the landings in the store are Landings.Stamped + Queue.Stamped. The
// first sum holds whenever no request is in flight (a snapshot taken while
// requests are being served may count a request as begun and not yet
// ended), the second whenever the queue's workers are idle, and both after
// Close. Every counter but the gauge Queue.Length only grows. Stats costs
// a few atomic loads; call it as often as a metrics scrape needs.
type Stats struct {
	// Requests counts every request through Handler, as it begins.
	Requests int64
	// Skipped counts the requests that are not landings, by reason.
	Skipped SkippedStats
	// Landings counts the landings (tracked candidates), by outcome.
	Landings LandingStats
	// Queue tells what became of the landings queued (Landings.Queued).
	Queue QueueStats
}

// SkippedStats counts requests served without any tracking work, by why.
type SkippedStats struct {
	Asset        int64 // a GET of a static file (by extension)
	Skip         int64 // Config.Skip excluded it
	Method       int64 // not a GET (HEAD, POST, …)
	Prefetch     int64 // a prefetch or prerender, not a visit
	NotDocument  int64 // a fetch() or API call, not a page load
	Browsing     int64 // a page of the site without a landing signal (own Referer, no parameters)
	Bot          int64 // a bot, link-preview fetcher or HTTP client
	UnknownEvent int64 // an event slug Config.Events does not sell
}

// Total is the number of skipped requests.
func (s SkippedStats) Total() int64 {
	return s.Asset + s.Skip + s.Method + s.Prefetch + s.NotDocument + s.Browsing + s.Bot + s.UnknownEvent
}

// LandingStats counts landings by what became of their stamp on the
// request path. Stamped landings are in the store; queued ones are handed
// to the queue (Stats.Queue says what became of them); every other outcome
// is a landing the store never saw (untracked), by reason.
type LandingStats struct {
	Stamped int64 // written within StoreTimeout on the request path
	Queued  int64 // missed StoreTimeout or met an open breaker, and was queued
	Dropped int64 // missed StoreTimeout or met an open breaker, and the queue was full
	// Deadline and BreakerOpen count the landings that missed StoreTimeout
	// or met an open breaker while there is no queue: QueueSize -1, or
	// after Close.
	Deadline    int64 // the store did not answer within StoreTimeout
	BreakerOpen int64 // the circuit breaker was open; the store was not called
	StoreError  int64 // the store answered with an error
	Canceled    int64 // the client went away while the store was called
	CookieError int64 // the session cookie could not be written
	Consent     int64 // Config.Consent refused tracking
	OverBudget  int64 // a new session past its client key's NewSessionsPerMinute
}

// Total is the number of landings.
func (s LandingStats) Total() int64 {
	return s.Stamped + s.Queued + s.Untracked()
}

// Untracked is the number of landings whose stamp was neither written
// nor queued.
func (s LandingStats) Untracked() int64 {
	return s.Dropped + s.Deadline + s.BreakerOpen + s.StoreError + s.Canceled + s.CookieError + s.Consent + s.OverBudget
}

// QueueStats tells what became of the queued stamps.
type QueueStats struct {
	Stamped   int64 // written by the queue (late)
	Failed    int64 // given up after the store failed every attempt
	Abandoned int64 // still queued when Close gave up
	Length    int64 // still queued or being written: a gauge
}

// Each calls f with each counter of s under its Prometheus name, in a
// fixed order:
//
//	tracklink_requests_total
//	tracklink_skipped_total{reason="asset"|"skip"|"method"|"prefetch"|"not_document"|"browsing"|"bot"|"unknown_event"}
//	tracklink_landings_total{outcome="stamped"|"queued"|"dropped"|"deadline"|"breaker_open"|"store_error"|"canceled"|"cookie_error"|"consent"|"over_budget"}
//	tracklink_queued_total{outcome="stamped"|"failed"|"abandoned"}
//	tracklink_queue_length
//
// All of them are counters but tracklink_queue_length, a gauge. A handler for a metrics endpoint writes them
// in the text exposition format with
//
//	m.Stats().Each(func(name string, v int64) { fmt.Fprintf(w, "%s %d\n", name, v) })
func (s Stats) Each(f func(name string, value int64)) {
	for i := range counterNames {
		f(counterNames[i], *s.field(counter(i)))
	}
	f("tracklink_queue_length", s.Queue.Length)
}

// counter indexes Middleware.counters and counterNames.
type counter uint8

const (
	cRequests counter = iota
	cAsset
	cSkip
	cMethod
	cPrefetch
	cNotDocument
	cBrowsing
	cBot
	cUnknownEvent
	cStamped
	cQueued
	cDropped
	cDeadline
	cBreakerOpen
	cStoreError
	cCanceled
	cCookieError
	cConsent
	cOverBudget
	cQueueStamped
	cQueueFailed
	cQueueAbandoned
	nCounters

	// cLanding is what tracked returns for a request that is a landing.
	cLanding = nCounters
)

var counterNames = [nCounters]string{
	cRequests:       "tracklink_requests_total",
	cAsset:          `tracklink_skipped_total{reason="asset"}`,
	cSkip:           `tracklink_skipped_total{reason="skip"}`,
	cMethod:         `tracklink_skipped_total{reason="method"}`,
	cPrefetch:       `tracklink_skipped_total{reason="prefetch"}`,
	cNotDocument:    `tracklink_skipped_total{reason="not_document"}`,
	cBrowsing:       `tracklink_skipped_total{reason="browsing"}`,
	cBot:            `tracklink_skipped_total{reason="bot"}`,
	cUnknownEvent:   `tracklink_skipped_total{reason="unknown_event"}`,
	cStamped:        `tracklink_landings_total{outcome="stamped"}`,
	cQueued:         `tracklink_landings_total{outcome="queued"}`,
	cDropped:        `tracklink_landings_total{outcome="dropped"}`,
	cDeadline:       `tracklink_landings_total{outcome="deadline"}`,
	cBreakerOpen:    `tracklink_landings_total{outcome="breaker_open"}`,
	cStoreError:     `tracklink_landings_total{outcome="store_error"}`,
	cCanceled:       `tracklink_landings_total{outcome="canceled"}`,
	cCookieError:    `tracklink_landings_total{outcome="cookie_error"}`,
	cConsent:        `tracklink_landings_total{outcome="consent"}`,
	cOverBudget:     `tracklink_landings_total{outcome="over_budget"}`,
	cQueueStamped:   `tracklink_queued_total{outcome="stamped"}`,
	cQueueFailed:    `tracklink_queued_total{outcome="failed"}`,
	cQueueAbandoned: `tracklink_queued_total{outcome="abandoned"}`,
}

// field is the field of s that counter c fills.
func (s *Stats) field(c counter) *int64 {
	return fields[c](s)
}

var fields = [nCounters]func(*Stats) *int64{
	cRequests:       func(s *Stats) *int64 { return &s.Requests },
	cAsset:          func(s *Stats) *int64 { return &s.Skipped.Asset },
	cSkip:           func(s *Stats) *int64 { return &s.Skipped.Skip },
	cMethod:         func(s *Stats) *int64 { return &s.Skipped.Method },
	cPrefetch:       func(s *Stats) *int64 { return &s.Skipped.Prefetch },
	cNotDocument:    func(s *Stats) *int64 { return &s.Skipped.NotDocument },
	cBrowsing:       func(s *Stats) *int64 { return &s.Skipped.Browsing },
	cBot:            func(s *Stats) *int64 { return &s.Skipped.Bot },
	cUnknownEvent:   func(s *Stats) *int64 { return &s.Skipped.UnknownEvent },
	cStamped:        func(s *Stats) *int64 { return &s.Landings.Stamped },
	cQueued:         func(s *Stats) *int64 { return &s.Landings.Queued },
	cDropped:        func(s *Stats) *int64 { return &s.Landings.Dropped },
	cDeadline:       func(s *Stats) *int64 { return &s.Landings.Deadline },
	cBreakerOpen:    func(s *Stats) *int64 { return &s.Landings.BreakerOpen },
	cStoreError:     func(s *Stats) *int64 { return &s.Landings.StoreError },
	cCanceled:       func(s *Stats) *int64 { return &s.Landings.Canceled },
	cCookieError:    func(s *Stats) *int64 { return &s.Landings.CookieError },
	cConsent:        func(s *Stats) *int64 { return &s.Landings.Consent },
	cOverBudget:     func(s *Stats) *int64 { return &s.Landings.OverBudget },
	cQueueStamped:   func(s *Stats) *int64 { return &s.Queue.Stamped },
	cQueueFailed:    func(s *Stats) *int64 { return &s.Queue.Failed },
	cQueueAbandoned: func(s *Stats) *int64 { return &s.Queue.Abandoned },
}

// counters are a Middleware's outcome counters, each on its own cache line
// so that concurrent requests counting different outcomes do not contend.
type counters [nCounters]struct {
	n atomic.Int64
	_ [56]byte
}

func (c *counters) add(i counter) { c[i].n.Add(1) }

// Stats returns a snapshot of the outcome counters (see Stats).
func (m *Middleware) Stats() Stats {
	var s Stats
	// Later outcomes first (the queue's, then the landings', then
	// Requests), so a snapshot never shows more ended requests than begun
	// ones.
	for i := int(nCounters) - 1; i >= 0; i-- {
		*s.field(counter(i)) = m.counters[i].n.Load()
	}
	// A worker may count a stamp's outcome before its sender counted it
	// queued (the count follows the send); the gauge never goes below 0.
	s.Queue.Length = max(0, s.Landings.Queued-s.Queue.Stamped-s.Queue.Failed-s.Queue.Abandoned)
	return s
}
