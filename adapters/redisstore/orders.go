package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// Key layout, order side: every order key, aggregate, index and the
// registry share the hash tag {o}, so one slot holds them all.
//
// Why one slot: exactly once needs the claim, the aggregates and the outbox
// entry to change in one atomic script, and a script can only touch one
// slot. A ticket shop's order rate is far below what one Redis node serves,
// while visits, the high-volume path, spread across the cluster by event.
//
//	<base>o:<order id>            hash: the order (see orderLib in scripts.go)
//	<base>idx                     zset: order ids by time (unix µs; ties by id)
//	<base>idx:<event>             zset: the event's order ids by time
//	<base>ev:<event>:d:<day>      hash: <key>|orders, |tickets, |excluded, |rev:<CUR>
//	<base>ev:<event>:all          hash: the same, all time
//	<base>ev:<event>:keys         set: the keys it counts orders under (the cap)
//	<base>p:<code>:all            hash: visits, orders, tickets, excluded, rev:<CUR>
//	<base>p:<code>:ev             hash: the same per event, fields <event>|visits…
//	<base>p:<code>:d:<day>        hash: the same per day
//	<base>p:<code>:days           set: days with figures
//	<base>p:<code>:ed             set: "<event> <day>" pairs with figures
//	<base>p:<code>:orders         set: ids of orders naming the code
//	<base>promoters               hash: code → Promoter JSON
//	<base>promos                  hash: promo code → promoter code
//	<base>groups                  set: group names
//	<base>links                   hash: id → Link JSON
//	<base>regver                  registry version (group edits compare it)
//
// where <base> is <prefix>{o}:.

func (s *Store) orderKey(id string) string { return s.orderBase + "o:" + id }

// promoterKey names one of a promoter's order-side keys: part is all, ev,
// "d:"+day, days, ed, orders, or ovr (the orders whose overruled touch
// names the code).
func (s *Store) promoterKey(code, part string) string { return s.orderBase + "p:" + code + ":" + part }

// eventOrderKey names one of an event's sales keys: part is "d:"+day, all,
// keys or days.
func (s *Store) eventOrderKey(event, part string) string {
	return s.orderBase + "ev:" + event + ":" + part
}

func validOrderID(id string) bool { return tracklink.ValidOrderID(id) }

// promoterOf returns the promoter code an attribution's figures go to ("" for
// none, as for the deleted promoter) and, separately, a code its Source names
// if that differs, so DeletePromoter finds every attribution naming a code.
func promoterOf(a tracklink.Attribution) (code, alsoSource string, err error) {
	t := a.Touch
	if t.Channel != tracklink.ChannelPromoter {
		return "", "", nil
	}
	code, ok := touchPromoter(t)
	if !ok {
		return "", "", fmt.Errorf("promoter code %q is not a lowercase [a-z0-9_-]{1,64} code", clip(t.Promoter))
	}
	if src, ok := tracklink.NormalizePromoter(t.Source); ok && src == t.Source && src != code {
		alsoSource = src
	}
	return code, alsoSource, nil
}

// hookKind is the outbox entry a new attribution queues.
func hookKind(a tracklink.Attribution) tracklink.HookKind {
	if a.Rule == tracklink.RuleNoTouch {
		return tracklink.HookUnattributed
	}
	return tracklink.HookAttributed
}

// Record claims the order, stores it, applies its aggregates, queues its
// hook and publishes the change, in one EVALSHA (two for the order of a
// registered promoter: the first replies with its registration, which
// names the group aggregate keys the second is given; a registration that
// changed in between costs one more).
//
// An order with no primary tickets (a.Tickets 0) counts its excluded
// tickets only. Sales of a promoter code count on its figures whether or
// not it is registered. When the order's key is new and the event already
// counts orders under Options.MaxSources keys, the event's figures go to
// OtherKey; the stored attribution keeps its real touch.
//
// The claim keeps the delivery token of ctx (tracklink.WithDelivery, else
// one drawn for this call): a retry of the call, by go-redis after a read
// timeout or by the caller, is told it applied.
//
// The attribution's Refunded and RefundedAt are ignored: an order becomes
// refunded through Refund only. An attribution that fails
// tracklink.Attribution.Check wraps ErrInvalid and writes nothing; so does
// a script that finds a counter it would push out of int64's range (the
// error says which), and one that gets a Cluster redirection (TRYAGAIN
// while its slot moves): the script then did not run at all.
func (s *Store) Record(ctx context.Context, a tracklink.Attribution) (tracklink.Record, error) {
	if s.opts.SessionsOnly {
		return tracklink.Record{}, fmt.Errorf("%w: record", ErrSessionsOnly)
	}
	if err := a.Check(); err != nil {
		return tracklink.Record{}, fmt.Errorf("%w: record: %w", ErrInvalid, err)
	}
	key := a.Touch.Key()
	promoter, alsoSource, err := promoterOf(a)
	if err != nil {
		return tracklink.Record{}, invalid("record", "%v", err)
	}
	a.Refunded, a.RefundedAt = false, time.Time{}
	a.RefundedRevenue, a.RefundedTickets = 0, 0
	body, err := json.Marshal(a)
	if err != nil {
		return tracklink.Record{}, s.wrap("record", err)
	}
	// The code an overruled touch names is listed first, so that
	// DeletePromoter finds the order (a listed order that was not recorded
	// after all costs DeletePromoter one read).
	if ov := a.Overruled.Touch.PromoterCode(); ov != "" && a.Overruled.Rule != "" {
		if err := s.rdb.SAdd(ctx, s.promoterKey(ov, "ovr"), a.OrderID).Err(); err != nil {
			return tracklink.Record{}, s.wrap("record", err)
		}
	}
	kind := hookKind(a)
	tok := tracklink.DeliveryTokenOr(ctx)
	day := a.Day()
	b := s.orderBase
	kp, _, _, _ := s.regKeys()
	// The first attempt assumes the promoter is not registered (no group
	// keys); if it is, the script says so and names its registration.
	var reg string
	for range maxCASRetries {
		keys := []string{s.orderKey(a.OrderID), b + "idx", b + "idx:" + a.Event,
			s.eventOrderKey(a.Event, "d:"+day), s.eventOrderKey(a.Event, "all"), s.eventOrderKey(a.Event, "keys"),
			s.eventOrderKey(a.Event, "days"), kp}
		if promoter != "" {
			var groups []string
			if reg != "" {
				groups = regGroups(reg)
			}
			for _, part := range []string{"all", "ev", "d:" + day, "orders", "days", "ed"} {
				keys = append(keys, s.promoterKey(promoter, part))
			}
			if alsoSource != "" {
				keys = append(keys, s.promoterKey(alsoSource, "orders"))
			}
			keys = s.appendGroupKeys(keys, groups)
		}
		hasSource := "0"
		if promoter != "" && alsoSource != "" {
			hasSource = "1"
		}
		res, err := recordScript.Run(ctx, s.rdb, keys,
			a.OrderID, body, key, a.Tickets, a.Excluded, a.Revenue, a.Currency, a.At.UnixMicro(),
			string(kind), s.channel, s.opts.maxSources(), tok, day, a.Event, promoter, reg, hasSource,
			int64(tracklink.MaxOrderRevenue),
		).Slice()
		if err != nil {
			return tracklink.Record{}, s.wrap("record", err)
		}
		if len(res) == 2 && res[0] == int64(-2) {
			reg = str(res[1]) // the promoter's registration, to name its group keys
			continue
		}
		r, _, err := decodeOrderReply(res)
		if err != nil {
			return tracklink.Record{}, s.wrap("record", err)
		}
		return r, nil
	}
	return tracklink.Record{}, s.wrap("record", errors.New("the promoter's registration kept changing; try again"))
}

// regGroups returns the aggregate groups of a registered promoter's JSON:
// "" followed by the non-empty group names it lists, as rankLib's
// regGroups reads them.
func regGroups(js string) []string {
	gs := []string{""}
	var p struct {
		Groups []any `json:"groups"`
	}
	if json.Unmarshal([]byte(js), &p) != nil {
		return gs
	}
	seen := map[string]bool{"": true}
	for _, g := range p.Groups {
		if name, ok := g.(string); ok && !seen[name] {
			seen[name] = true
			gs = append(gs, name)
		}
	}
	return gs
}

// appendGroupKeys appends the pg:sum, pg:rank and pg:act keys of each group.
func (s *Store) appendGroupKeys(keys []string, groups []string) []string {
	for _, g := range groups {
		keys = append(keys, s.pgKey("sum", g), s.pgKey("rank", g), s.pgKey("act", g))
	}
	return keys
}

// decodeOrderReply reads {status, attribution JSON, pending kinds}.
func decodeOrderReply(res []any) (r tracklink.Record, status int64, err error) {
	if len(res) == 0 {
		return r, 0, errors.New("unexpected script reply")
	}
	status, _ = res[0].(int64)
	if len(res) < 3 {
		return r, status, nil
	}
	body, _ := res[1].(string)
	if err := json.Unmarshal([]byte(body), &r.Attribution); err != nil {
		return r, status, fmt.Errorf("decode stored attribution: %w", err)
	}
	r.Applied = status == 1
	if kinds, ok := res[2].([]any); ok && len(kinds) > 0 {
		r.Pending = make([]tracklink.HookKind, 0, len(kinds))
		for _, k := range kinds {
			if ks, ok := k.(string); ok {
				r.Pending = append(r.Pending, tracklink.HookKind(ks))
			}
		}
	}
	return r, status, nil
}

// Refund reverses what the order still counts once (what its partial
// refunds left: tracklink.Attribution.FullRefund), queues HookRefunded
// and publishes the change, in two EVALSHAs: the first finds the order
// (and its promoter's registration) and replies with its stored state,
// from which Go computes the reversal and names the keys the second is
// given; if the order changed in between, the second replies so and
// writes nothing, and it goes again. A duplicate refund, or one of an
// order not recorded, takes one. For an order not recorded yet it leaves
// a tombstone for Options.OrderTTL, so a late Record counts nothing. A
// retry carrying the token of the call that reversed the order (see
// Record) is told it applied. The script checks every counter before its
// first write: it reverses the order fully or not at all.
func (s *Store) Refund(ctx context.Context, orderID string, at time.Time) (tracklink.Record, bool, error) {
	if s.opts.SessionsOnly {
		return tracklink.Record{}, false, fmt.Errorf("%w: refund", ErrSessionsOnly)
	}
	if !validOrderID(orderID) {
		return tracklink.Record{}, false, invalid("refund", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if at.IsZero() {
		at = s.opts.Now()
	}
	rr, err := s.refund(ctx, "refund", orderID, nil, at)
	return rr.Record, rr.Known, err
}

// PartialRefund applies r once per (order id, refund id), as Refund does
// a full refund and with the same two EVALSHAs: Go computes what the
// refund takes off (tracklink.Attribution.ApplyRefund) from the state the
// first replies with, and the second applies it, or replies that the
// order changed (another refund applied meanwhile) and writes nothing.
// It keeps the refund's entry and delivery token in the order's hash
// (rf:<refund id>), queues tracklink.PartialRefundHook(r.RefundID) (and
// HookRefunded when it completes the order's refund) and publishes a
// tracklink.HookPartialRefund change. A zero r.At is Options.Now. A
// refund failing tracklink.Refund.Check, or one past
// tracklink.MaxOrderRefunds for the order, wraps ErrInvalid and writes
// nothing; so does one of an order not recorded (Known false).
func (s *Store) PartialRefund(ctx context.Context, r tracklink.Refund) (tracklink.RefundRecord, error) {
	if s.opts.SessionsOnly {
		return tracklink.RefundRecord{}, fmt.Errorf("%w: partial refund", ErrSessionsOnly)
	}
	if err := r.Check(); err != nil {
		return tracklink.RefundRecord{}, fmt.Errorf("%w: partial refund: %w", ErrInvalid, err)
	}
	if r.At.IsZero() {
		r.At = s.opts.Now()
	}
	return s.refund(ctx, "partial refund", r.OrderID, &r, r.At)
}

// maxRefundRetries bounds the optimistic retries of one refund: each
// retry means another refund of the same order applied meanwhile.
const maxRefundRetries = 64

// refund runs refundScript for a full refund (r nil) or a partial one.
func (s *Store) refund(ctx context.Context, op, orderID string, r *tracklink.Refund, at time.Time) (tracklink.RefundRecord, error) {
	atJSON, err := at.MarshalJSON()
	if err != nil {
		return tracklink.RefundRecord{}, s.wrap(op, err)
	}
	atJSON = atJSON[1 : len(atJSON)-1] // strip the quotes; the script stores it as is
	ttl := int64(-1)
	if s.opts.OrderTTL > 0 {
		ttl = max(s.opts.OrderTTL.Milliseconds(), 1)
	}
	refundID := ""
	if r != nil {
		refundID = r.RefundID
	}
	tok := tracklink.DeliveryTokenOr(ctx)
	o := s.orderKey(orderID)
	kp, _, _, _ := s.regKeys()
	keys := []string{o, kp}
	args := []any{"0", refundID, tok, s.channel, atJSON, ttl}
	for range maxRefundRetries {
		res, err := refundScript.Run(ctx, s.rdb, keys, args...).Slice()
		if err != nil {
			return tracklink.RefundRecord{}, s.wrap(op, err)
		}
		if len(res) == 8 && res[0] == int64(-2) {
			// compute the refund from the stored order, name its keys, and call again
			e, d, k, p, reg, stored, nr := str(res[1]), str(res[2]), str(res[3]), str(res[4]), str(res[5]), str(res[6]), str(res[7])
			var a tracklink.Attribution
			if err := json.Unmarshal([]byte(stored), &a); err != nil {
				return tracklink.RefundRecord{}, s.wrap(op, fmt.Errorf("decode stored attribution: %w", err))
			}
			var after tracklink.Attribution
			var delta tracklink.RefundDelta
			var entry []byte
			full := true
			if r == nil {
				after, delta = a.FullRefund(at)
			} else {
				if n, err := strconv.Atoi(nr); err != nil || n >= tracklink.MaxOrderRefunds {
					return tracklink.RefundRecord{}, invalid(op, "order %s already has %s refunds (at most %d)", clip(orderID), nr, tracklink.MaxOrderRefunds)
				}
				var e tracklink.RefundEntry
				after, e, delta = a.ApplyRefund(*r)
				full = e.Full
				if entry, err = json.Marshal(e); err != nil {
					return tracklink.RefundRecord{}, s.wrap(op, err)
				}
			}
			body, err := json.Marshal(after)
			if err != nil {
				return tracklink.RefundRecord{}, s.wrap(op, err)
			}
			keys = append(keys[:2], s.eventOrderKey(e, "d:"+d), s.eventOrderKey(e, "all"))
			if p != "" {
				keys = append(keys, s.promoterKey(p, "all"), s.promoterKey(p, "ev"), s.promoterKey(p, "d:"+d))
				if reg != "" {
					keys = s.appendGroupKeys(keys, regGroups(reg))
				}
			}
			fullArg := "0"
			if full {
				fullArg = "1"
			}
			args = append(args[:6], e, d, k, p, reg, stored, nr, body,
				delta.Orders, delta.Tickets, delta.Excluded, delta.Revenue, fullArg, entry)
			args[0] = "1"
			continue
		}
		rec, status, err := decodeOrderReply(res)
		if err != nil {
			return tracklink.RefundRecord{}, s.wrap(op, err)
		}
		if status == -1 {
			return tracklink.RefundRecord{}, nil
		}
		out := tracklink.RefundRecord{Record: rec, Known: true}
		if r != nil {
			out.Refund = tracklink.RefundEntry{ID: r.RefundID, At: r.At}
			if len(res) >= 4 {
				if e := str(res[3]); e != "" {
					if err := json.Unmarshal([]byte(e), &out.Refund); err != nil {
						return tracklink.RefundRecord{}, s.wrap(op, fmt.Errorf("decode stored refund: %w", err))
					}
				}
			}
		}
		return out, nil
	}
	return tracklink.RefundRecord{}, s.wrap(op, errors.New("the order kept changing; try again"))
}

// str is an HMGET value as a string ("" when missing).
func str(v any) string {
	s, _ := v.(string)
	return s
}

// Ack removes a hook from the order's outbox and its lease (one HDEL).
// Acknowledging a hook not owed, or one of an unknown order, does nothing.
func (s *Store) Ack(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if !validOrderID(orderID) {
		return invalid("ack", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if !knownHook(kind) {
		return nil // never queued, so never owed
	}
	if err := s.rdb.HDel(ctx, s.orderKey(orderID), "ob:"+string(kind), "cl:"+string(kind)).Err(); err != nil {
		return s.wrap("ack", err)
	}
	return nil
}

// ClaimHook leases the outbox entry for lease, on Redis's clock (one
// script on the order's hash): true when it is owed and no live lease
// holds it. A lease that is not positive wraps ErrInvalid.
func (s *Store) ClaimHook(ctx context.Context, orderID string, kind tracklink.HookKind, lease time.Duration) (bool, error) {
	if !validOrderID(orderID) {
		return false, invalid("claim hook", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if lease <= 0 {
		return false, invalid("claim hook", "lease %v is not positive", lease)
	}
	if !knownHook(kind) {
		return false, nil
	}
	n, err := claimHookScript.Run(ctx, s.rdb, []string{s.orderKey(orderID)}, string(kind), max(lease.Milliseconds(), 1)).Int()
	if err != nil {
		return false, s.wrap("claim hook", err)
	}
	return n == 1, nil
}

// ReleaseHook ends the lease on the outbox entry (one HDEL); the entry
// stays owed.
func (s *Store) ReleaseHook(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if !validOrderID(orderID) {
		return invalid("release hook", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if !knownHook(kind) {
		return nil
	}
	if err := s.rdb.HDel(ctx, s.orderKey(orderID), "cl:"+string(kind)).Err(); err != nil {
		return s.wrap("release hook", err)
	}
	return nil
}

func knownHook(kind tracklink.HookKind) bool { return kind.Valid() }

// Attribution returns a recorded order (one HGET).
func (s *Store) Attribution(ctx context.Context, orderID string) (tracklink.Attribution, bool, error) {
	if !validOrderID(orderID) {
		// No such order can have been recorded.
		return tracklink.Attribution{}, false, nil
	}
	a, ok, err := decodeAttribution(s.rdb.HGet(ctx, s.orderKey(orderID), "a"))
	if err != nil {
		return tracklink.Attribution{}, false, s.wrap("attribution", err)
	}
	return a, ok, nil
}

func decodeAttribution(cmd *redis.StringCmd) (tracklink.Attribution, bool, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return tracklink.Attribution{}, false, nil
	}
	if err != nil {
		return tracklink.Attribution{}, false, err
	}
	var a tracklink.Attribution
	if err := json.Unmarshal(b, &a); err != nil {
		return tracklink.Attribution{}, false, fmt.Errorf("decode stored attribution: %w", err)
	}
	return a, true, nil
}

// Orders walks the order index (all orders, or the event's) oldest first,
// Options.OrdersBatch orders per two round trips: a ZRANGE BYSCORE page,
// then one pipeline of HGETs. Orders recorded during the walk with a time
// after the current page are seen; earlier ones may not be.
func (s *Store) Orders(ctx context.Context, event string, fn func(tracklink.Attribution) error) error {
	idx := s.orderBase + "idx"
	if event != "" {
		if !tracklink.ValidEvent(event) {
			return invalid("orders", "event slug %q is not [a-z0-9-]{1,64}", clip(event))
		}
		idx += ":" + event
	}
	batch := int64(s.opts.OrdersBatch)
	min := "-inf"
	var skip int64 // members already seen with score == min (ties sort by member)
	for {
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: idx, Start: min, Stop: "+inf", ByScore: true, Offset: skip, Count: batch,
		}).Result()
		if err != nil {
			return s.wrap("orders", err)
		}
		if len(zs) == 0 {
			return nil
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(zs))
		for i, z := range zs {
			id, _ := z.Member.(string)
			cmds[i] = pipe.HGet(ctx, s.orderKey(id), "a")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return s.wrap("orders", err)
		}
		for _, c := range cmds {
			a, ok, err := decodeAttribution(c)
			if err != nil {
				return s.wrap("orders", err)
			}
			if !ok {
				continue // deleted between the two reads
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		if int64(len(zs)) < batch {
			return nil
		}
		last := zs[len(zs)-1].Score
		next := strconv.FormatFloat(last, 'f', -1, 64)
		if next == min {
			skip += int64(len(zs))
		} else {
			min = next
			skip = 0
			for i := len(zs) - 1; i >= 0 && zs[i].Score == last; i-- {
				skip++
			}
		}
	}
}
