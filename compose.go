package tracklink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ComposeOptions configure Compose. The zero value is the default.
type ComposeOptions struct {
	// FlushInterval is how often the visits counted since the last flush
	// are handed to the ledger (one CountVisits call per batch). Default
	// DefaultFlushInterval (1s). A negative value buffers nothing: Stamp
	// counts each new visit on the ledger before it returns (a second
	// round trip on the request path, and nothing lost on a crash).
	FlushInterval time.Duration
	// MaxPending bounds the distinct (event, day, source key, promoter)
	// entries the buffer holds. A visit that would need one more entry is
	// dropped and counted (Split.Dropped, ErrVisitsDropped through
	// OnError). Default DefaultMaxPending (10,000 entries, about 1 MB).
	MaxPending int
	// MaxBatch bounds the entries of one CountVisits call; a buffer that
	// reaches it is flushed without waiting for the interval. Default
	// DefaultMaxBatch (1,000).
	MaxBatch int
	// FlushTimeout bounds each CountVisits call of a flush. Default 5s.
	FlushTimeout time.Duration
	// OnError hears of flushes that failed (their entries go back to the
	// buffer, within MaxPending, and are tried again at the next flush)
	// and of dropped visits (an error wrapping ErrVisitsDropped, at most
	// once per flush). It runs on the flushing goroutine. Default: none.
	OnError func(ctx context.Context, err error)
	// Now is the clock a touch with a zero At is stamped at: its day is
	// the visit's day. Default time.Now.
	Now func() time.Time
}

// Defaults of ComposeOptions.
const (
	DefaultFlushInterval = time.Second
	DefaultMaxPending    = 10_000
	DefaultMaxBatch      = 1000
	DefaultFlushTimeout  = 5 * time.Second
)

// ErrVisitsDropped is wrapped by the error Split reports through
// ComposeOptions.OnError when its buffer was full and visits were lost.
var ErrVisitsDropped = errors.New("tracklink: visit buffer full, visits dropped")

func (o *ComposeOptions) setDefaults() {
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Split is a store whose session side and durable side live apart:
// sessions on Redis or in memory, the ledger, registry and aggregates on
// PostgreSQL. Make one with Compose. It implements Store, LedgerStore,
// ReportStore and Feed, so it goes wherever an all-in-one store does.
//
// Stamp asks the session store to mark the visit only (Stamp.MarkOnly) and
// hands the visits it counted to the ledger through a small in-process
// buffer, flushed off the request path every FlushInterval in batches
// (one VisitCounter.CountVisits call, one statement on pgstore, per
// batch). A landing so costs one round trip to the session store, as with
// an all-in-one store. The price: visits (never sales, which go to the
// ledger directly) counted within one flush interval before a crash are
// lost, and so are visits that do not fit a full buffer (counted, and
// reported through OnError). Close flushes what is left. The caps of
// distinct sources and the rule that only registered promoters count
// visits on their own figures are the ledger's (CountVisits).
type Split struct {
	sessions SessionStore
	ledger   LedgerStore
	o        ComposeOptions

	mu      sync.Mutex
	pending map[visitBucket]int64
	closed  bool
	dropped int64 // since the last report

	droppedTotal atomic.Int64
	flushMu      sync.Mutex // one flush at a time
	kick         chan struct{}
	stop         chan struct{}
	done         chan struct{}
}

type visitBucket struct{ event, day, key, promoter string }

// Compose returns a store whose session side is sessions and whose durable
// side is ledger. Unless opts.FlushInterval is negative it starts one
// goroutine that flushes counted visits; Close stops it.
//
// Do not give it a sessions store that is also the ledger's (an
// all-in-one store is already composed).
func Compose(sessions SessionStore, ledger LedgerStore, opts ComposeOptions) *Split {
	if sessions == nil || ledger == nil {
		panic("tracklink: Compose with a nil store")
	}
	opts.setDefaults()
	s := &Split{sessions: sessions, ledger: ledger, o: opts, pending: make(map[visitBucket]int64)}
	if opts.FlushInterval > 0 {
		s.kick = make(chan struct{}, 1)
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.loop()
	}
	return s
}

// Compile-time guards.
var (
	_ Store       = (*Split)(nil)
	_ LedgerStore = (*Split)(nil)
	_ ReportStore = (*Split)(nil)
)

// Sessions returns the session side.
func (s *Split) Sessions() SessionStore { return s.sessions }

// Ledger returns the durable side.
func (s *Split) Ledger() LedgerStore { return s.ledger }

// Stamp stamps the landing on the session store with MarkOnly set and, when
// the session store says the visit counts, buffers it for the ledger (or,
// with a negative FlushInterval or after Close, counts it there at once;
// an error of that call is returned with the session's result). A touch
// with a zero At is stamped at ComposeOptions.Now. A stamp that is already
// MarkOnly is only marked.
func (s *Split) Stamp(ctx context.Context, st Stamp) (StampResult, error) {
	if st.Touch.At.IsZero() {
		st.Touch.At = s.o.Now()
	}
	count := !st.MarkOnly
	st.MarkOnly = true
	r, err := s.sessions.Stamp(ctx, st)
	if err != nil || !r.Counted || !count {
		return r, err
	}
	b := visitBucket{event: st.Touch.Event, day: Day(st.Touch.At), key: r.Current.Key(), promoter: r.Current.PromoterCode()}
	if s.buffer(b) {
		return r, nil
	}
	v := VisitCount{Event: b.event, Day: b.day, Key: b.key, Promoter: b.promoter, N: 1}
	if err := s.ledger.CountVisits(ctx, []VisitCount{v}); err != nil {
		return r, fmt.Errorf("tracklink: count visit: %w", err)
	}
	return r, nil
}

// buffer adds one visit to the buffer; false when visits are counted at
// once (no flushing goroutine, or closed).
func (s *Split) buffer(b visitBucket) bool {
	if s.kick == nil {
		return false
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	n, ok := s.pending[b]
	switch {
	case ok || len(s.pending) < s.o.MaxPending:
		s.pending[b] = n + 1
	default:
		s.dropped++
		s.droppedTotal.Add(1)
	}
	full := len(s.pending) >= s.o.MaxBatch
	s.mu.Unlock()
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Dropped returns how many visits were lost because the buffer was full,
// since Compose.
func (s *Split) Dropped() int64 { return s.droppedTotal.Load() }

func (s *Split) loop() {
	defer close(s.done)
	t := time.NewTicker(s.o.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		_ = s.Flush(context.Background())
	}
}

// Flush hands every buffered visit to the ledger now, in batches of
// MaxBatch entries sorted by event, day and key (so that concurrent
// flushes of several instances take the ledger's row locks in the same
// order). Entries of a failed batch, and of the batches after it, go back
// to the buffer (within MaxPending) and the error is returned (and
// reported through OnError).
func (s *Split) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	taken := s.pending
	s.pending = make(map[visitBucket]int64, len(taken))
	dropped := s.dropped
	s.dropped = 0
	s.mu.Unlock()

	if dropped > 0 {
		s.report(ctx, fmt.Errorf("%w: %d visits", ErrVisitsDropped, dropped))
	}
	if len(taken) == 0 {
		return nil
	}
	vs := make([]VisitCount, 0, len(taken))
	for b, n := range taken {
		vs = append(vs, VisitCount{Event: b.event, Day: b.day, Key: b.key, Promoter: b.promoter, N: n})
	}
	slices.SortFunc(vs, func(a, b VisitCount) int {
		return cmp.Or(strings.Compare(a.Event, b.Event), strings.Compare(a.Day, b.Day),
			strings.Compare(a.Key, b.Key), strings.Compare(a.Promoter, b.Promoter))
	})
	for len(vs) > 0 {
		n := min(len(vs), s.o.MaxBatch)
		cctx, cancel := context.WithTimeout(ctx, s.o.FlushTimeout)
		err := s.ledger.CountVisits(cctx, vs[:n])
		cancel()
		if err != nil {
			s.putBack(vs)
			err = fmt.Errorf("tracklink: flush %d visit entries: %w", len(vs), err)
			s.report(ctx, err)
			return err
		}
		vs = vs[n:]
	}
	return nil
}

// putBack returns entries of a failed flush to the buffer, dropping (and
// counting) what no longer fits.
func (s *Split) putBack(vs []VisitCount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		b := visitBucket{v.Event, v.Day, v.Key, v.Promoter}
		if n, ok := s.pending[b]; ok || len(s.pending) < s.o.MaxPending {
			s.pending[b] = n + v.N
			continue
		}
		s.dropped += v.N
		s.droppedTotal.Add(v.N)
	}
}

func (s *Split) report(ctx context.Context, err error) {
	if s.o.OnError != nil {
		s.o.OnError(ctx, err)
	}
}

// Close stops the flushing goroutine and flushes what is buffered, bounded
// by ctx. Stamps after Close count their visits on the ledger at once. It
// closes neither store.
func (s *Split) Close(ctx context.Context) error {
	if s.kick == nil {
		return nil
	}
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		close(s.stop)
		<-s.done
	}
	return s.Flush(ctx)
}

// Touches reads the session store.
func (s *Split) Touches(ctx context.Context, session, event string) (*Touch, *Touch, error) {
	return s.sessions.Touches(ctx, session, event)
}

// Record records on the ledger.
func (s *Split) Record(ctx context.Context, a Attribution) (Record, error) {
	return s.ledger.Record(ctx, a)
}

// Refund refunds on the ledger.
func (s *Split) Refund(ctx context.Context, orderID string, at time.Time) (Record, bool, error) {
	return s.ledger.Refund(ctx, orderID, at)
}

// PartialRefund refunds on the ledger.
func (s *Split) PartialRefund(ctx context.Context, r Refund) (RefundRecord, error) {
	return s.ledger.PartialRefund(ctx, r)
}

// Ack acknowledges on the ledger.
func (s *Split) Ack(ctx context.Context, orderID string, kind HookKind) error {
	return s.ledger.Ack(ctx, orderID, kind)
}

// ClaimHook claims on the ledger.
func (s *Split) ClaimHook(ctx context.Context, orderID string, kind HookKind, lease time.Duration) (bool, error) {
	return s.ledger.ClaimHook(ctx, orderID, kind, lease)
}

// ReleaseHook releases on the ledger.
func (s *Split) ReleaseHook(ctx context.Context, orderID string, kind HookKind) error {
	return s.ledger.ReleaseHook(ctx, orderID, kind)
}

// Attribution reads the ledger.
func (s *Split) Attribution(ctx context.Context, orderID string) (Attribution, bool, error) {
	return s.ledger.Attribution(ctx, orderID)
}

// CountVisits counts on the ledger directly, bypassing the buffer.
func (s *Split) CountVisits(ctx context.Context, visits []VisitCount) error {
	return s.ledger.CountVisits(ctx, visits)
}

// Subscribe subscribes to the ledger's feed. When the ledger has none
// (it does not implement Feed) the error wraps errors.ErrUnsupported.
func (s *Split) Subscribe(ctx context.Context) (<-chan Change, error) {
	f, ok := s.ledger.(Feed)
	if !ok {
		return nil, fmt.Errorf("tracklink: the ledger has no live feed: %w", errors.ErrUnsupported)
	}
	return f.Subscribe(ctx)
}

// SavePromoter is the ledger's SavePromoter.
func (s *Split) SavePromoter(ctx context.Context, p Promoter) error {
	return s.ledger.SavePromoter(ctx, p)
}

// Promoter is the ledger's Promoter.
func (s *Split) Promoter(ctx context.Context, code string) (Promoter, bool, error) {
	return s.ledger.Promoter(ctx, code)
}

// Promoters is the ledger's Promoters.
func (s *Split) Promoters(ctx context.Context) ([]Promoter, error) { return s.ledger.Promoters(ctx) }

// PromoterByPromoCode is the ledger's PromoterByPromoCode.
func (s *Split) PromoterByPromoCode(ctx context.Context, promo string) (string, bool, error) {
	return s.ledger.PromoterByPromoCode(ctx, promo)
}

// DeletePromoter is the ledger's DeletePromoter.
func (s *Split) DeletePromoter(ctx context.Context, code string) error {
	return s.ledger.DeletePromoter(ctx, code)
}

// Groups is the ledger's Groups.
func (s *Split) Groups(ctx context.Context) ([]string, error) { return s.ledger.Groups(ctx) }

// SaveGroup is the ledger's SaveGroup.
func (s *Split) SaveGroup(ctx context.Context, name string) error {
	return s.ledger.SaveGroup(ctx, name)
}

// RenameGroup is the ledger's RenameGroup.
func (s *Split) RenameGroup(ctx context.Context, from, to string) error {
	return s.ledger.RenameGroup(ctx, from, to)
}

// DeleteGroup is the ledger's DeleteGroup.
func (s *Split) DeleteGroup(ctx context.Context, name string) error {
	return s.ledger.DeleteGroup(ctx, name)
}

// SaveLink is the ledger's SaveLink.
func (s *Split) SaveLink(ctx context.Context, l Link) error { return s.ledger.SaveLink(ctx, l) }

// Link is the ledger's Link.
func (s *Split) Link(ctx context.Context, id string) (Link, bool, error) {
	return s.ledger.Link(ctx, id)
}

// Links is the ledger's Links.
func (s *Split) Links(ctx context.Context, event string) ([]Link, error) {
	return s.ledger.Links(ctx, event)
}

// DeleteLink is the ledger's DeleteLink.
func (s *Split) DeleteLink(ctx context.Context, id string) error { return s.ledger.DeleteLink(ctx, id) }

// EventTraffic is the ledger's EventTraffic.
func (s *Split) EventTraffic(ctx context.Context, event, from, to string) ([]SourceCounts, error) {
	return s.ledger.EventTraffic(ctx, event, from, to)
}

// EventDays is the ledger's EventDays.
func (s *Split) EventDays(ctx context.Context, event, from, to string) ([]DayCounts, error) {
	return s.ledger.EventDays(ctx, event, from, to)
}

// PromoterStats is the ledger's PromoterStats.
func (s *Split) PromoterStats(ctx context.Context, codes []string) ([]PromoterStats, error) {
	return s.ledger.PromoterStats(ctx, codes)
}

// PromoterSummary is the ledger's PromoterSummary.
func (s *Split) PromoterSummary(ctx context.Context, group string) (PromoterSummary, error) {
	return s.ledger.PromoterSummary(ctx, group)
}

// PromoterRanking is the ledger's PromoterRanking.
func (s *Split) PromoterRanking(ctx context.Context, group string, offset, limit int) ([]RankedPromoter, error) {
	return s.ledger.PromoterRanking(ctx, group, offset, limit)
}

// RecentOrders is the ledger's RecentOrders.
func (s *Split) RecentOrders(ctx context.Context, event string, limit int) ([]Attribution, error) {
	return s.ledger.RecentOrders(ctx, event, limit)
}

// PromoterDays is the ledger's PromoterDays.
func (s *Split) PromoterDays(ctx context.Context, code, from, to string) ([]DayCounts, error) {
	return s.ledger.PromoterDays(ctx, code, from, to)
}

// Orders is the ledger's Orders.
func (s *Split) Orders(ctx context.Context, event string, fn func(Attribution) error) error {
	return s.ledger.Orders(ctx, event, fn)
}
