package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// MaxLimit is the largest page PromoterRanking and RecentOrders return.
const MaxLimit = tracklink.MaxLimit

// pgKey names a group aggregate (see rankLib): kind sum, rank, act or mem;
// group "" is every registered promoter.
func (s *Store) pgKey(kind, group string) string {
	return s.orderBase + "pg:" + kind + ":" + group
}

// PromoterSummary returns the totals across the registered promoters of
// group ("" for all of them): how many there are, how many are active (at
// least one order that counts) and the sum of their all-time sales figures
// (Visits left zero). A group nobody is in, or a name that cannot be a
// group, gives a zero summary, not an error.
//
// Record, Refund and every registry change keep these sums in the {o}
// slot, in the same script, so this is one pipeline (HGETALL, two SCARDs)
// whatever the number of promoters. The first call on a store builds the
// sums from the registry once (see rebuildRankScript).
func (s *Store) PromoterSummary(ctx context.Context, group string) (tracklink.PromoterSummary, error) {
	const op = "promoter summary"
	g, ok := groupFilter(group)
	out := tracklink.PromoterSummary{Group: g}
	if !ok {
		return out, nil
	}
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		ready := pipe.Exists(ctx, s.orderBase+"pg:ready")
		sum := pipe.HGetAll(ctx, s.pgKey("sum", g))
		act := pipe.SCard(ctx, s.pgKey("act", g))
		mem := pipe.SCard(ctx, s.pgKey("mem", g))
		if _, err := pipe.Exec(ctx); err != nil {
			return out, s.wrap(op, err)
		}
		if ready.Val() == 0 && attempt == 0 {
			if err := s.rebuildRanking(ctx); err != nil {
				return out, s.wrap(op, err)
			}
			continue
		}
		for f, v := range sum.Val() {
			if f != "visits" {
				addField(&out.Totals, f, v)
			}
		}
		out.Active, out.Promoters = int(act.Val()), int(mem.Val())
		return out, nil
	}
}

// PromoterRanking returns the registered promoters of group ("" for all)
// ordered by primary tickets sold, descending, then by code, rows offset
// to offset+limit-1, each with its all-time figures (visits included, as
// PromoterStats gives them). limit must be 1 to MaxLimit and offset >= 0,
// else the error wraps ErrInvalid. An unknown group gives no rows.
//
// Two round trips: a ZRANGE of the group's ranking (kept by the same
// scripts as PromoterSummary's sums), then PromoterStats's pipeline for
// the page. A sale recorded between the two may show in a row's figures
// before it moves the row.
func (s *Store) PromoterRanking(ctx context.Context, group string, offset, limit int) ([]tracklink.RankedPromoter, error) {
	const op = "promoter ranking"
	if err := checkPage(op, offset, limit); err != nil {
		return nil, err
	}
	g, ok := groupFilter(group)
	if !ok {
		return nil, nil
	}
	stop := int64(offset) + int64(limit) - 1
	if stop < 0 {
		stop = math.MaxInt64 // offset near MaxInt64
	}
	var codes []string
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		ready := pipe.Exists(ctx, s.orderBase+"pg:ready")
		rank := pipe.ZRange(ctx, s.pgKey("rank", g), int64(offset), stop)
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, s.wrap(op, err)
		}
		if ready.Val() == 0 && attempt == 0 {
			if err := s.rebuildRanking(ctx); err != nil {
				return nil, s.wrap(op, err)
			}
			continue
		}
		codes = rank.Val()
		break
	}
	if len(codes) == 0 {
		return nil, nil
	}
	kp, _, _, _ := s.regKeys()
	raw, err := s.rdb.HMGet(ctx, kp, codes...).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	pipe := s.rdb.Pipeline()
	totals := make([]*redis.MapStringStringCmd, len(codes))
	for i, c := range codes {
		totals[i] = pipe.HGetAll(ctx, s.orderBase+"p:"+c+":all")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.wrap(op, err)
	}
	out := make([]tracklink.RankedPromoter, 0, len(codes))
	for i, v := range raw {
		b, ok := v.(string)
		if !ok {
			continue // deleted between the two reads
		}
		var p tracklink.Promoter
		if err := json.Unmarshal([]byte(b), &p); err != nil {
			return nil, s.wrap(op, fmt.Errorf("decode stored promoter: %w", err))
		}
		st := tracklink.PromoterStats{Code: codes[i]}
		for f, n := range totals[i].Val() {
			addField(&st.Totals, f, n)
		}
		out = append(out, tracklink.RankedPromoter{Promoter: p, Stats: st})
	}
	return out, nil
}

func (s *Store) rebuildRanking(ctx context.Context) error {
	kp, _, kg, _ := s.regKeys()
	return rebuildRankScript.Run(ctx, s.rdb, []string{kp, kg, s.orderBase + "pg:ready"}).Err()
}

// RecentOrders returns up to limit recorded orders of event ("" for all),
// refunded ones included, newest first (by time, then order id, both
// descending: the reverse of Orders). limit must be 1 to MaxLimit and
// event "" or a valid slug, else the error wraps ErrInvalid. Two round
// trips: a ZREVRANGE of the order index, then one pipeline of HGETs.
func (s *Store) RecentOrders(ctx context.Context, event string, limit int) ([]tracklink.Attribution, error) {
	const op = "recent orders"
	if err := checkPage(op, 0, limit); err != nil {
		return nil, err
	}
	idx := s.orderBase + "idx"
	if event != "" {
		if !tracklink.ValidEvent(event) {
			return nil, invalid(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
		}
		idx += ":" + event
	}
	ids, err := s.rdb.ZRevRange(ctx, idx, 0, int64(limit-1)).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGet(ctx, s.orderKey(id), "a")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.wrap(op, err)
	}
	out := make([]tracklink.Attribution, 0, len(ids))
	for _, c := range cmds {
		a, ok, err := decodeAttribution(c)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		if ok {
			out = append(out, a)
		}
	}
	return out, nil
}

func groupFilter(group string) (string, bool) { return tracklink.GroupFilter(group) }

func checkPage(op string, offset, limit int) error {
	if err := tracklink.CheckPage(offset, limit); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, op, err)
	}
	return nil
}
