package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracklink/tracklink"
)

// PartialRefund applies r once per (order id, refund id), in one
// transaction under the order's lock: it reads the order and the refund's
// row, computes what the refund takes off (tracklink.Attribution.
// ApplyRefund) and applies it (take_refund): the order's attribution and
// refunded figures, the refund's row in tracklink.refunds (unique by
// order and refund id), the figures taken off every bucket the order
// counts in, tracklink.PartialRefundHook(r.RefundID) (and HookRefunded
// when it completes the order's refund) in the outbox and the changes on
// the feed. A zero r.At is Options.Now. A refund failing
// tracklink.Refund.Check, or one past tracklink.MaxOrderRefunds for the
// order, wraps ErrInvalid and writes nothing; so does one of an order not
// recorded (Known false).
func (s *Store) PartialRefund(ctx context.Context, r tracklink.Refund) (tracklink.RefundRecord, error) {
	if err := r.Check(); err != nil {
		return tracklink.RefundRecord{}, invalid("partial refund", err)
	}
	if r.At.IsZero() {
		r.At = s.opts.Now()
	}
	return s.refund(ctx, "partial refund", r.OrderID, &r, r.At)
}

// refund applies a full refund (r nil) or a partial one, in one
// transaction.
func (s *Store) refund(ctx context.Context, op, orderID string, r *tracklink.Refund, at time.Time) (tracklink.RefundRecord, error) {
	token := tracklink.DeliveryTokenOr(ctx) // the same on every retry below
	var out tracklink.RefundRecord
	err := s.retry(ctx, op, func() error {
		out = tracklink.RefundRecord{}
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			out, err = s.refundTx(ctx, tx, orderID, r, at, token)
			return err
		})
	})
	return out, err
}

func (s *Store) refundTx(ctx context.Context, tx pgx.Tx, orderID string, r *tracklink.Refund, at time.Time, token string) (tracklink.RefundRecord, error) {
	if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(1953263474, hashtext($1 || '/' || $2))`, organiser, orderID); err != nil {
		return tracklink.RefundRecord{}, err
	}
	var body []byte
	var refunded bool
	var rtok string
	var n int
	err := tx.QueryRow(ctx, s.sql(`select attribution, refunded_at is not null, refund_delivery,
		(select count(*) from tracklink.refunds f where f.organiser = o.organiser and f.order_id = o.order_id)
		from tracklink.orders o where organiser = $1 and order_id = $2`), organiser, orderID).Scan(&body, &refunded, &rtok, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		if r == nil {
			return tracklink.RefundRecord{}, s.earlyRefund(ctx, tx, orderID, at)
		}
		return tracklink.RefundRecord{}, nil // not remembered: delivered again later
	}
	if err != nil {
		return tracklink.RefundRecord{}, err
	}
	var a tracklink.Attribution
	if err := json.Unmarshal(body, &a); err != nil {
		return tracklink.RefundRecord{}, fmt.Errorf("decode stored attribution: %w", err)
	}
	pending := func() ([]tracklink.HookKind, error) {
		var kinds []string
		if err := tx.QueryRow(ctx, s.sql(`select tracklink.pending($1, $2)`), organiser, orderID).Scan(&kinds); err != nil {
			return nil, err
		}
		out := make([]tracklink.HookKind, 0, len(kinds))
		for _, k := range kinds {
			out = append(out, tracklink.HookKind(k))
		}
		return out, nil
	}
	done := func(applied bool, e tracklink.RefundEntry) (tracklink.RefundRecord, error) {
		p, err := pending()
		return tracklink.RefundRecord{Known: true, Refund: e,
			Record: tracklink.Record{Attribution: a, Applied: applied, Pending: p}}, err
	}
	if r != nil {
		var dtok string
		var entry []byte
		err := tx.QueryRow(ctx, s.sql(`select delivery, entry from tracklink.refunds
			where organiser = $1 and order_id = $2 and refund_id = $3`), organiser, orderID, r.RefundID).Scan(&dtok, &entry)
		if err == nil {
			var e tracklink.RefundEntry
			if err := json.Unmarshal(entry, &e); err != nil {
				return tracklink.RefundRecord{}, fmt.Errorf("decode stored refund: %w", err)
			}
			return done(dtok == token, e)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return tracklink.RefundRecord{}, err
		}
	}
	if refunded {
		if r == nil {
			return done(rtok == token, tracklink.RefundEntry{})
		}
		return done(false, tracklink.RefundEntry{ID: r.RefundID, At: r.At})
	}
	var after tracklink.Attribution
	var d tracklink.RefundDelta
	var e tracklink.RefundEntry
	full, refundID := true, ""
	var entry []byte
	if r == nil {
		after, d = a.FullRefund(at)
	} else {
		if n >= tracklink.MaxOrderRefunds {
			return tracklink.RefundRecord{}, invalidf("partial refund", "order %s already has %d refunds", clip(orderID), tracklink.MaxOrderRefunds)
		}
		after, e, d = a.ApplyRefund(*r)
		full, refundID = e.Full, r.RefundID
		if entry, err = json.Marshal(e); err != nil {
			return tracklink.RefundRecord{}, err
		}
	}
	newBody, err := json.Marshal(after)
	if err != nil {
		return tracklink.RefundRecord{}, err
	}
	var kinds []string
	err = tx.QueryRow(ctx, s.sql(`select tracklink.take_refund($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`),
		organiser, orderID, refundID, newBody, full, at, after.RefundedRevenue, after.RefundedTickets,
		d.Orders, d.Tickets, d.Excluded, d.Revenue, e.Revenue, e.Tickets, entry, token, s.channel).Scan(&kinds)
	if err != nil {
		return tracklink.RefundRecord{}, err
	}
	rec := tracklink.RefundRecord{Known: true, Refund: e, Record: tracklink.Record{Attribution: after, Applied: true}}
	for _, k := range kinds {
		rec.Pending = append(rec.Pending, tracklink.HookKind(k))
	}
	return rec, nil
}

// earlyRefund remembers the full refund of an order not recorded yet
// until Options.TombstoneTTL from now (for good when it is not positive),
// so that a late Record counts nothing, and sweeps a few expired ones.
func (s *Store) earlyRefund(ctx context.Context, tx pgx.Tx, orderID string, at time.Time) error {
	atText, err := at.MarshalText()
	if err != nil {
		return err
	}
	var ttl *time.Duration
	if s.opts.TombstoneTTL > 0 {
		ttl = &s.opts.TombstoneTTL
	}
	if _, err := tx.Exec(ctx, s.sql(`insert into tracklink.early_refunds as r (organiser, order_id, refunded_at, refunded_at_text, expires_at)
			values ($1, $2, $3, $4, now() + $5::interval)
		on conflict (organiser, order_id) do update set
			refunded_at = excluded.refunded_at, refunded_at_text = excluded.refunded_at_text,
			expires_at = excluded.expires_at
			where r.expires_at is not null and r.expires_at <= now()`), organiser, orderID, at, string(atText), ttl); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, s.sql(`delete from tracklink.early_refunds where ctid = any(array(
		select ctid from tracklink.early_refunds where expires_at <= now() limit 16))`))
	return err
}
