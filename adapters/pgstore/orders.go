package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracklink/tracklink"
)

// hookKind is the outbox entry a new attribution queues.
func hookKind(a tracklink.Attribution) tracklink.HookKind {
	if a.Rule == tracklink.RuleNoTouch {
		return tracklink.HookUnattributed
	}
	return tracklink.HookAttributed
}

// Record claims the order by its primary key and, the first time, stores
// it, applies its figures (to the event under its source key, or under
// tracklink.OtherKey once the event counts orders under MaxSources keys;
// to its promoter's figures, registered or not; to the sums of the
// registered promoter's groups), queues its hook in the outbox and
// publishes the change (NOTIFY, delivered at commit): one function call,
// one transaction, one round trip.
//
// The attribution is checked first (tracklink.Attribution.Check: amounts,
// ids, codes); a bad one wraps ErrInvalid and writes nothing. Its Refunded
// and RefundedAt are ignored: an order becomes refunded through Refund.
// Times are stored exactly in the attribution and to the microsecond in
// the columns.
func (s *Store) Record(ctx context.Context, a tracklink.Attribution) (tracklink.Record, error) {
	if err := a.Check(); err != nil {
		return tracklink.Record{}, invalid("record", err)
	}
	a.Refunded, a.RefundedAt = false, time.Time{}
	a.RefundedRevenue, a.RefundedTickets = 0, 0
	body, err := json.Marshal(a)
	if err != nil {
		return tracklink.Record{}, wrap("record", err)
	}
	day, _ := tracklink.ParseDay(a.Day())
	channel := a.Touch.Channel
	if channel == "" {
		channel = tracklink.ChannelDirect
	}
	kind := hookKind(a)
	token := tracklink.DeliveryTokenOr(ctx) // the same on every retry below
	var r tracklink.Record
	err = s.retry(ctx, "record", func() error {
		var status int
		var stored []byte
		var pending []string
		err := s.pool.QueryRow(ctx, s.q.record,
			organiser, a.OrderID, a.Event, day, a.At, a.Session, a.Currency, a.Tickets, a.Excluded, a.Revenue,
			string(channel), a.Touch.Source, a.Touch.PromoterCode(), a.Touch.Key(), string(a.Rule), a.Touch.UTM.Source,
			body, string(kind), s.maxSources(), tracklink.OtherKey, s.channel, token,
		).Scan(&status, &stored, &pending)
		if err != nil {
			return err
		}
		r, err = decodeRecord(status, stored, pending)
		return err
	})
	return r, err
}

func decodeRecord(status int, stored []byte, pending []string) (tracklink.Record, error) {
	var r tracklink.Record
	if err := json.Unmarshal(stored, &r.Attribution); err != nil {
		return r, fmt.Errorf("decode stored attribution: %w", err)
	}
	r.Applied = status == 1
	for _, k := range pending {
		r.Pending = append(r.Pending, tracklink.HookKind(k))
	}
	return r, nil
}

// Refund reverses what the order still counts once (what its partial
// refunds left: tracklink.Attribution.FullRefund; the same buckets Record
// added to, under the order's day), marks it refunded at at (Options.Now
// when zero), queues HookRefunded and publishes the change, in one
// transaction under the order's lock (see PartialRefund). For an order
// not recorded yet it remembers the refund for Options.TombstoneTTL (ok
// false), so that a late Record counts nothing.
func (s *Store) Refund(ctx context.Context, orderID string, at time.Time) (tracklink.Record, bool, error) {
	if !tracklink.ValidOrderID(orderID) {
		return tracklink.Record{}, false, invalidf("refund", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if at.IsZero() {
		at = s.opts.Now()
	}
	rr, err := s.refund(ctx, "refund", orderID, nil, at)
	return rr.Record, rr.Known, err
}

// Ack removes a hook from the order's outbox (one DELETE). Acknowledging a
// hook not owed, or one of an unknown order, does nothing.
func (s *Store) Ack(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if !tracklink.ValidOrderID(orderID) {
		return invalidf("ack", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	_, err := s.pool.Exec(ctx, s.sql(`delete from tracklink.outbox where organiser = $1 and order_id = $2 and kind = $3`),
		organiser, orderID, string(kind))
	if err != nil {
		return wrap("ack", err)
	}
	return nil
}

// ClaimHook leases the outbox entry to the caller for lease, timed by the
// database's clock (one UPDATE): only when it is owed and no other lease
// on it is live.
func (s *Store) ClaimHook(ctx context.Context, orderID string, kind tracklink.HookKind, lease time.Duration) (bool, error) {
	if lease <= 0 {
		return false, invalidf("claim hook", "lease must be positive")
	}
	if !tracklink.ValidOrderID(orderID) {
		return false, nil // never queued
	}
	tag, err := s.pool.Exec(ctx, s.sql(`update tracklink.outbox set lease_until = now() + $4
		where organiser = $1 and order_id = $2 and kind = $3 and (lease_until is null or lease_until <= now())`),
		organiser, orderID, string(kind), lease)
	if err != nil {
		return false, wrap("claim hook", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseHook ends the lease on the outbox entry and leaves it owed.
func (s *Store) ReleaseHook(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if !tracklink.ValidOrderID(orderID) {
		return nil
	}
	_, err := s.pool.Exec(ctx, s.sql(`update tracklink.outbox set lease_until = null
		where organiser = $1 and order_id = $2 and kind = $3`), organiser, orderID, string(kind))
	if err != nil {
		return wrap("release hook", err)
	}
	return nil
}

// Attribution returns a recorded order (one SELECT by primary key).
func (s *Store) Attribution(ctx context.Context, orderID string) (tracklink.Attribution, bool, error) {
	if !tracklink.ValidOrderID(orderID) {
		return tracklink.Attribution{}, false, nil // no such order can have been recorded
	}
	var body []byte
	err := s.pool.QueryRow(ctx, s.sql(`select attribution from tracklink.orders where organiser = $1 and order_id = $2`),
		organiser, orderID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return tracklink.Attribution{}, false, nil
	}
	if err != nil {
		return tracklink.Attribution{}, false, wrap("attribution", err)
	}
	var a tracklink.Attribution
	if err := json.Unmarshal(body, &a); err != nil {
		return tracklink.Attribution{}, false, wrap("attribution", fmt.Errorf("decode stored attribution: %w", err))
	}
	return a, true, nil
}

// CountVisits counts a batch of visits in one statement (one function
// call, one transaction): each entry on its event's figures (under
// tracklink.OtherKey once the event counts visits under MaxSources keys)
// and, when its promoter is registered, on the promoter's. Every entry is
// checked first; a bad one wraps ErrInvalid and nothing is counted.
// Entries are applied sorted by event, day and key, so that batches from
// several instances take their row locks in the same order.
func (s *Store) CountVisits(ctx context.Context, visits []tracklink.VisitCount) error {
	if len(visits) == 0 {
		return nil
	}
	vs := slices.Clone(visits)
	for _, v := range vs {
		if err := v.Check(); err != nil {
			return invalid("count visits", err)
		}
	}
	slices.SortFunc(vs, func(a, b tracklink.VisitCount) int {
		return cmp.Or(strings.Compare(a.Event, b.Event), strings.Compare(a.Day, b.Day),
			strings.Compare(a.Key, b.Key), strings.Compare(a.Promoter, b.Promoter))
	})
	events := make([]string, len(vs))
	days := make([]time.Time, len(vs))
	keys := make([]string, len(vs))
	promoters := make([]string, len(vs))
	ns := make([]int64, len(vs))
	for i, v := range vs {
		days[i], _ = tracklink.ParseDay(v.Day)
		events[i], keys[i], promoters[i], ns[i] = v.Event, v.Key, v.Promoter, v.N
	}
	return s.retry(ctx, "count visits", func() error {
		_, err := s.pool.Exec(ctx, s.q.countVisits, organiser, events, days, keys, promoters, ns, s.maxSources(), tracklink.OtherKey)
		return err
	})
}
