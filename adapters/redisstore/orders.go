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
// hook and publishes the change, in one EVALSHA (one round trip).
//
// An order with no primary tickets (a.Tickets 0) counts its excluded
// tickets only. Sales of a promoter code count on its figures whether or
// not it is registered. When the order's key is new and the event already
// counts orders under Options.MaxSources keys, the event's figures go to
// OtherKey; the stored attribution keeps its real touch.
//
// The attribution's Refunded and RefundedAt are ignored: an order becomes
// refunded through Refund only. An attribution that fails
// tracklink.Attribution.Check wraps ErrInvalid and writes nothing.
func (s *Store) Record(ctx context.Context, a tracklink.Attribution) (tracklink.Record, error) {
	if err := a.Check(); err != nil {
		return tracklink.Record{}, fmt.Errorf("%w: record: %w", ErrInvalid, err)
	}
	key := a.Touch.Key()
	promoter, alsoSource, err := promoterOf(a)
	if err != nil {
		return tracklink.Record{}, invalid("record", "%v", err)
	}
	a.Refunded, a.RefundedAt = false, time.Time{}
	body, err := json.Marshal(a)
	if err != nil {
		return tracklink.Record{}, s.wrap("record", err)
	}
	kind := hookKind(a)
	res, err := recordScript.Run(ctx, s.rdb, []string{s.orderKey(a.OrderID)},
		s.orderBase, a.OrderID, body, a.Event, a.Day(), key, promoter,
		a.Tickets, a.Excluded, a.Revenue, a.Currency, a.At.UnixMicro(), string(kind), s.channel, alsoSource,
		s.opts.maxSources(),
	).Slice()
	if err != nil {
		return tracklink.Record{}, s.wrap("record", err)
	}
	r, _, err := decodeOrderReply(res)
	if err != nil {
		return tracklink.Record{}, s.wrap("record", err)
	}
	return r, nil
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

// Refund reverses the order's aggregates once, queues HookRefunded and
// publishes the change, in one EVALSHA. For an order not recorded yet it
// leaves a tombstone for Options.OrderTTL, so a late Record counts nothing.
func (s *Store) Refund(ctx context.Context, orderID string, at time.Time) (tracklink.Record, bool, error) {
	if !validOrderID(orderID) {
		return tracklink.Record{}, false, invalid("refund", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	if at.IsZero() {
		at = s.opts.Now()
	}
	atJSON, err := at.MarshalJSON()
	if err != nil {
		return tracklink.Record{}, false, s.wrap("refund", err)
	}
	atJSON = atJSON[1 : len(atJSON)-1] // strip the quotes; the script splices it in
	ttl := int64(-1)
	if s.opts.OrderTTL > 0 {
		ttl = max(s.opts.OrderTTL.Milliseconds(), 1)
	}
	res, err := refundScript.Run(ctx, s.rdb, []string{s.orderKey(orderID)},
		s.orderBase, atJSON, ttl, s.channel).Slice()
	if err != nil {
		return tracklink.Record{}, false, s.wrap("refund", err)
	}
	r, status, err := decodeOrderReply(res)
	if err != nil {
		return tracklink.Record{}, false, s.wrap("refund", err)
	}
	if status == -1 {
		return tracklink.Record{}, false, nil
	}
	return r, true, nil
}

// Ack removes a hook from the order's outbox (one HDEL). Acknowledging a
// hook not owed, or one of an unknown order, does nothing.
func (s *Store) Ack(ctx context.Context, orderID string, kind tracklink.HookKind) error {
	if !validOrderID(orderID) {
		return invalid("ack", "order id must be 1 to %d printable characters", tracklink.MaxOrderIDLen)
	}
	switch kind {
	case tracklink.HookAttributed, tracklink.HookUnattributed, tracklink.HookRefunded:
	default:
		return nil // never queued, so never owed
	}
	if err := s.rdb.HDel(ctx, s.orderKey(orderID), "ob:"+string(kind)).Err(); err != nil {
		return s.wrap("ack", err)
	}
	return nil
}

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
