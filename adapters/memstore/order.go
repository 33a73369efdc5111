package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tracklink/tracklink"
)

// Record claims a.OrderID. The first time, it stores a (its Refunded and
// RefundedAt cleared) and adds it to the figures: per event × day(a.At) ×
// a.Touch.Key() and per event all time, Orders+1, Tickets+a.Tickets,
// Excluded+a.Excluded and Revenue[a.Currency]+a.Revenue; for a promoter
// touch (registered or not) the same into the promoter's totals, per-event
// and daily figures. An order with no primary tickets (a.Tickets 0) counts
// its excluded tickets only. When the key is new and the event already
// counts orders under Options.MaxSources keys, the event's figures go to
// OtherKey instead; the stored attribution keeps its real touch.
// It queues HookUnattributed when a.Rule is tracklink.RuleNoTouch, else
// HookAttributed, and publishes the change to subscribers. Applied is true.
//
// If Refund saw the order first, Record stores it refunded (RefundedAt from
// that refund), adds nothing (Applied false) and queues both its hook and
// HookRefunded, publishing both changes, so the host hears of the sale and
// of its refund.
//
// A duplicate returns the stored attribution with Applied false and Pending
// holding the hooks not acknowledged yet. An attribution that fails
// tracklink.Attribution.Check wraps ErrInvalid.
func (s *Store) Record(ctx context.Context, a tracklink.Attribution) (tracklink.Record, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Record{}, err
	}
	if err := a.Check(); err != nil {
		return tracklink.Record{}, fmt.Errorf("%w: record: %w", ErrInvalid, err)
	}
	hook := tracklink.HookAttributed
	if a.Rule == tracklink.RuleNoTouch {
		hook = tracklink.HookUnattributed
	}
	a.Refunded, a.RefundedAt = false, time.Time{}
	a.RefundedRevenue, a.RefundedTickets = 0, 0
	now := s.now()
	tok := tracklink.DeliveryTokenOr(ctx)

	s.mu.Lock()
	if o := s.orders[a.OrderID]; o != nil {
		// the same delivery's retry learns what its first attempt did
		r := tracklink.Record{Attribution: o.a, Applied: o.tok == tok && o.applied, Pending: slices.Clone(o.outbox)}
		s.mu.Unlock()
		return r, nil
	}
	o := &order{a: a, key: a.Touch.Key(), outbox: []tracklink.HookKind{hook}, tok: tok}
	applied := true
	if code := promoterOf(a.Touch); code != "" {
		s.promoter(code).ed[eventDay{a.Event, a.Day()}] = struct{}{}
	}
	if tb, ok := s.tombstones[a.OrderID]; ok && s.live(tb, now) {
		delete(s.tombstones, a.OrderID)
		o.a, _ = o.a.FullRefund(tb.at)
		o.outbox = append(o.outbox, tracklink.HookRefunded)
		applied = false
	} else {
		delete(s.tombstones, a.OrderID)
		o.key = s.capKey(s.event(a.Event).orderKeys, o.key)
		s.apply(o, recorded(a), 1)
	}
	o.applied = applied
	s.orders[a.OrderID] = o
	s.indexOrder(o)
	r := tracklink.Record{Attribution: o.a, Applied: applied, Pending: slices.Clone(o.outbox)}
	s.mu.Unlock()

	for _, k := range r.Pending {
		s.publish(tracklink.Change{Kind: k, Attribution: r.Attribution})
	}
	return r, nil
}

// Refund reverses what Record added for the order and its partial refunds
// left (tracklink.Attribution.FullRefund; the same buckets, under the
// order's day, not the refund's), marks it Refunded at
// at (the store's Now when zero), queues HookRefunded and publishes the
// change: ok and Applied are true. For an order already refunded it
// changes nothing: ok true, Applied false, Pending the hooks still owed.
// For an order not recorded yet it remembers the refund (the first one's
// time) for Options.TombstoneTTL so that a late Record counts nothing: ok
// false, Applied false.
func (s *Store) Refund(ctx context.Context, orderID string, at time.Time) (tracklink.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Record{}, false, err
	}
	if orderID == "" {
		return tracklink.Record{}, false, fmt.Errorf("%w: refund: empty order id", ErrInvalid)
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	tok := tracklink.DeliveryTokenOr(ctx)
	s.mu.Lock()
	o := s.orders[orderID]
	if o == nil {
		if tb, ok := s.tombstones[orderID]; !ok || !s.live(tb, now) {
			if !ok {
				s.maybeSweepTombstones(now)
			}
			tb = tombstone{at: at}
			if s.tombTTL > 0 {
				tb.expires = now.Add(s.tombTTL)
			}
			s.tombstones[orderID] = tb
		}
		s.mu.Unlock()
		return tracklink.Record{}, false, nil
	}
	if o.a.Refunded {
		r := tracklink.Record{Attribution: o.a, Applied: o.rtok == tok, Pending: slices.Clone(o.outbox)}
		s.mu.Unlock()
		return r, true, nil
	}
	o.rtok = tok
	var d tracklink.RefundDelta
	o.a, d = o.a.FullRefund(at)
	s.apply(o, d, -1)
	o.queue(tracklink.HookRefunded)
	r := tracklink.Record{Attribution: o.a, Applied: true, Pending: slices.Clone(o.outbox)}
	s.mu.Unlock()

	s.publish(tracklink.Change{Kind: tracklink.HookRefunded, Attribution: r.Attribution})
	return r, true, nil
}

// PartialRefund applies r once per (order id, refund id)
// (tracklink.Ledger): it takes what tracklink.Attribution.ApplyRefund
// says off the order's figures (the same buckets Record added to, under
// the order's day), stores the refund's entry, queues
// tracklink.PartialRefundHook(r.RefundID) (and HookRefunded when the
// refund completes the order's refund) and publishes a
// tracklink.HookPartialRefund change (and a HookRefunded one). A zero
// r.At is the store's Now. A refund failing tracklink.Refund.Check, or one
// past tracklink.MaxOrderRefunds for the order, wraps ErrInvalid.
func (s *Store) PartialRefund(ctx context.Context, r tracklink.Refund) (tracklink.RefundRecord, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.RefundRecord{}, err
	}
	if err := r.Check(); err != nil {
		return tracklink.RefundRecord{}, fmt.Errorf("%w: partial refund: %w", ErrInvalid, err)
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	tok := tracklink.DeliveryTokenOr(ctx)
	s.mu.Lock()
	o := s.orders[r.OrderID]
	if o == nil {
		s.mu.Unlock()
		return tracklink.RefundRecord{}, nil
	}
	if c, ok := o.refunds[r.RefundID]; ok {
		rr := tracklink.RefundRecord{Known: true, Refund: c.entry,
			Record: tracklink.Record{Attribution: o.a, Applied: c.tok == tok, Pending: slices.Clone(o.outbox)}}
		s.mu.Unlock()
		return rr, nil
	}
	if o.a.Refunded {
		rr := tracklink.RefundRecord{Known: true, Refund: tracklink.RefundEntry{ID: r.RefundID, At: r.At},
			Record: tracklink.Record{Attribution: o.a, Pending: slices.Clone(o.outbox)}}
		s.mu.Unlock()
		return rr, nil
	}
	if len(o.refunds) >= tracklink.MaxOrderRefunds {
		s.mu.Unlock()
		return tracklink.RefundRecord{}, fmt.Errorf("%w: partial refund: order %s already has %d refunds", ErrInvalid, r.OrderID, tracklink.MaxOrderRefunds)
	}
	after, e, d := o.a.ApplyRefund(r)
	o.a = after
	s.apply(o, d, -1)
	if o.refunds == nil {
		o.refunds = make(map[string]refundClaim, 1)
	}
	o.refunds[r.RefundID] = refundClaim{entry: e, tok: tok}
	o.queue(tracklink.PartialRefundHook(r.RefundID))
	if e.Full {
		o.queue(tracklink.HookRefunded)
	}
	rr := tracklink.RefundRecord{Known: true, Refund: e,
		Record: tracklink.Record{Attribution: o.a, Applied: true, Pending: slices.Clone(o.outbox)}}
	s.mu.Unlock()

	s.publish(tracklink.Change{Kind: tracklink.HookPartialRefund, Attribution: rr.Attribution})
	if e.Full {
		s.publish(tracklink.Change{Kind: tracklink.HookRefunded, Attribution: rr.Attribution})
	}
	return rr, nil
}

// queue adds kind to the outbox unless it is there.
func (o *order) queue(kind tracklink.HookKind) {
	if !slices.Contains(o.outbox, kind) {
		o.outbox = append(o.outbox, kind)
	}
}

// Ack removes kind from the order's outbox. Acknowledging a hook that is
// not owed, or one of an unknown order, does nothing.
func (s *Store) Ack(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orders[orderID]; o != nil {
		o.outbox = slices.DeleteFunc(o.outbox, func(k tracklink.HookKind) bool { return k == kind })
		delete(o.leases, kind)
	}
	return nil
}

// ClaimHook leases the outbox entry to the caller until Options.Now() +
// lease when it is owed and no live lease holds it (tracklink.Ledger).
// A lease that is not positive is refused with ErrInvalid.
func (s *Store) ClaimHook(ctx context.Context, orderID string, kind tracklink.HookKind, lease time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if lease <= 0 {
		return false, fmt.Errorf("%w: claim hook: lease %v is not positive", ErrInvalid, lease)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderID]
	if o == nil || !slices.Contains(o.outbox, kind) {
		return false, nil
	}
	if until, ok := o.leases[kind]; ok && now.Before(until) {
		return false, nil
	}
	if o.leases == nil {
		o.leases = make(map[tracklink.HookKind]time.Time, 1)
	}
	o.leases[kind] = now.Add(lease)
	return true, nil
}

// ReleaseHook ends the lease on the outbox entry; the entry stays owed.
func (s *Store) ReleaseHook(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orders[orderID]; o != nil {
		delete(o.leases, kind)
	}
	return nil
}

// Attribution returns the recorded order; ok is false when there is none
// (an order known only from an early refund is not recorded).
func (s *Store) Attribution(ctx context.Context, orderID string) (tracklink.Attribution, bool, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Attribution{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orders[orderID]
	if o == nil {
		return tracklink.Attribution{}, false, nil
	}
	return o.a, true, nil
}

// recorded returns what Record adds for a: one order, its tickets,
// excluded tickets and revenue; an order with no primary tickets (all
// resold or transferred) counts its excluded tickets only: no order, no
// revenue, and it makes no promoter active.
func recorded(a tracklink.Attribution) tracklink.RefundDelta {
	if a.Tickets == 0 {
		return tracklink.RefundDelta{Excluded: int64(a.Excluded)}
	}
	return tracklink.RefundDelta{Orders: 1, Tickets: int64(a.Tickets), Excluded: int64(a.Excluded), Revenue: a.Revenue}
}

// apply adds (sign 1) or removes (sign -1) figures d of an order, under
// the source key o.key, on every bucket the order counts in. Buckets left
// all zero are dropped. Callers hold s.mu.
func (s *Store) apply(o *order, d tracklink.RefundDelta, sign int64) {
	a := o.a
	day, key := a.Day(), o.key
	delta := func(c *tracklink.Counts) {
		c.Excluded += sign * d.Excluded
		c.Orders += sign * d.Orders
		c.Tickets += sign * d.Tickets
		if d.Revenue != 0 {
			if c.Revenue == nil {
				c.Revenue = make(map[string]int64, 1)
			}
			c.Revenue[a.Currency] += sign * d.Revenue
			if c.Revenue[a.Currency] == 0 {
				delete(c.Revenue, a.Currency)
			}
		}
	}
	add := func(m map[string]*tracklink.Counts, k string) {
		c := counts(m, k)
		delta(c)
		if isZero(c) {
			delete(m, k)
		}
	}
	e := s.event(a.Event)
	add(e.day(day), key)
	if len(e.days[day]) == 0 {
		delete(e.days, day)
	}
	add(e.total, key)
	if code := promoterOf(a.Touch); code != "" {
		p := s.promoter(code)
		wasActive := p.total.Orders > 0
		delta(&p.total)
		s.rankOrder(code, wasActive, p.total.Orders > 0, delta)
		add(p.events, a.Event)
		add(p.days, day)
	}
}

// live reports whether a tombstone has not expired at now.
func (s *Store) live(tb tombstone, now time.Time) bool {
	return tb.expires.IsZero() || now.Before(tb.expires)
}

// maybeSweepTombstones drops expired tombstones once their number doubled
// since the last sweep (and is at least Options.SweepMin), as maybeSweep
// does for sessions. Callers hold s.mu.
func (s *Store) maybeSweepTombstones(now time.Time) {
	if len(s.tombstones) < s.tombSweep {
		return
	}
	maps.DeleteFunc(s.tombstones, func(_ string, tb tombstone) bool { return !s.live(tb, now) })
	s.tombSweep = max(2*len(s.tombstones), s.sweepMin)
}
