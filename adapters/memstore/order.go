package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracklink/tracklink"
)

// Record claims a.OrderID. The first time, it stores a (its Refunded and
// RefundedAt cleared) and adds it to the figures: per event × day(a.At) ×
// a.Touch.Key() and per event all time, Orders+1, Tickets+a.Tickets,
// Excluded+a.Excluded and Revenue[a.Currency]+a.Revenue; for a promoter
// touch the same into the promoter's totals, per-event and daily figures.
// It queues HookUnattributed when a.Rule is tracklink.RuleNoTouch, else
// HookAttributed, and publishes the change to subscribers. Applied is true.
//
// If Refund saw the order first, Record stores it refunded (RefundedAt from
// that refund), adds nothing (Applied false) and queues both its hook and
// HookRefunded, publishing both changes, so the host hears of the sale and
// of its refund.
//
// A duplicate returns the stored attribution with Applied false and Pending
// holding the hooks not acknowledged yet.
func (s *Store) Record(ctx context.Context, a tracklink.Attribution) (tracklink.Record, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Record{}, err
	}
	if a.OrderID == "" {
		return tracklink.Record{}, fmt.Errorf("%w: record: empty order id", ErrInvalid)
	}
	hook := tracklink.HookAttributed
	if a.Rule == tracklink.RuleNoTouch {
		hook = tracklink.HookUnattributed
	}
	a.Refunded, a.RefundedAt = false, time.Time{}

	s.mu.Lock()
	if o := s.orders[a.OrderID]; o != nil {
		r := tracklink.Record{Attribution: o.a, Pending: slices.Clone(o.outbox)}
		s.mu.Unlock()
		return r, nil
	}
	o := &order{a: a, outbox: []tracklink.HookKind{hook}}
	applied := true
	if at, ok := s.tombstones[a.OrderID]; ok {
		delete(s.tombstones, a.OrderID)
		o.a.Refunded, o.a.RefundedAt = true, at
		o.outbox = append(o.outbox, tracklink.HookRefunded)
		applied = false
	} else {
		s.apply(a, 1)
	}
	s.orders[a.OrderID] = o
	s.indexOrder(o)
	r := tracklink.Record{Attribution: o.a, Applied: applied, Pending: slices.Clone(o.outbox)}
	s.mu.Unlock()

	for _, k := range r.Pending {
		s.publish(tracklink.Change{Kind: k, Attribution: r.Attribution})
	}
	return r, nil
}

// Refund reverses exactly what Record added for the order (the same
// buckets, under the order's day, not the refund's), marks it Refunded at
// at (the store's Now when zero), queues HookRefunded and publishes the
// change: ok and Applied are true. For an order already refunded it
// changes nothing: ok true, Applied false, Pending the hooks still owed.
// For an order not recorded yet it remembers the refund (the first one's
// time) so that a late Record counts nothing: ok false, Applied false.
func (s *Store) Refund(ctx context.Context, orderID string, at time.Time) (tracklink.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Record{}, false, err
	}
	if orderID == "" {
		return tracklink.Record{}, false, fmt.Errorf("%w: refund: empty order id", ErrInvalid)
	}
	if at.IsZero() {
		at = s.now()
	}
	s.mu.Lock()
	o := s.orders[orderID]
	if o == nil {
		if _, ok := s.tombstones[orderID]; !ok {
			s.tombstones[orderID] = at
		}
		s.mu.Unlock()
		return tracklink.Record{}, false, nil
	}
	if o.a.Refunded {
		r := tracklink.Record{Attribution: o.a, Pending: slices.Clone(o.outbox)}
		s.mu.Unlock()
		return r, true, nil
	}
	s.apply(o.a, -1)
	o.a.Refunded, o.a.RefundedAt = true, at
	if !slices.Contains(o.outbox, tracklink.HookRefunded) {
		o.outbox = append(o.outbox, tracklink.HookRefunded)
	}
	r := tracklink.Record{Attribution: o.a, Applied: true, Pending: slices.Clone(o.outbox)}
	s.mu.Unlock()

	s.publish(tracklink.Change{Kind: tracklink.HookRefunded, Attribution: r.Attribution})
	return r, true, nil
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

// apply adds (sign 1) or removes (sign -1) an order's figures. Buckets left
// all zero are dropped. Callers hold s.mu.
func (s *Store) apply(a tracklink.Attribution, sign int64) {
	day, key := a.Day(), a.Touch.Key()
	delta := func(c *tracklink.Counts) {
		c.Orders += sign
		c.Tickets += sign * int64(a.Tickets)
		c.Excluded += sign * int64(a.Excluded)
		if a.Revenue != 0 {
			if c.Revenue == nil {
				c.Revenue = make(map[string]int64, 1)
			}
			c.Revenue[a.Currency] += sign * a.Revenue
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
