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

// rankKeys returns rankLib's map (a script's ARGV[1]) for the totals of
// codes and the aggregates of groups, and keys with their keys appended,
// in the order rankLib reads them.
func (s *Store) rankKeys(keys, codes, groups []string) (string, []string) {
	m := struct {
		P []string `json:"p"`
		G []string `json:"g"`
	}{P: make([]string, 0, len(codes)), G: make([]string, 0, len(groups))}
	seen := make(map[string]bool, len(groups))
	for _, c := range codes {
		m.P = append(m.P, c)
		keys = append(keys, s.promoterKey(c, "all"))
	}
	for _, g := range groups {
		if seen[g] {
			continue
		}
		seen[g] = true
		m.G = append(m.G, g)
		keys = append(keys, s.pgKey("sum", g), s.pgKey("rank", g), s.pgKey("act", g), s.pgKey("mem", g))
	}
	b, _ := json.Marshal(m) // strings only: cannot fail
	return string(b), keys
}

func (s *Store) pgReadyKey() string { return s.orderBase + "pg:ready" }

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
		ready := pipe.Exists(ctx, s.pgReadyKey())
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
		ready := pipe.Exists(ctx, s.pgReadyKey())
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
		totals[i] = pipe.HGetAll(ctx, s.promoterKey(c, "all"))
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

// rebuildRanking runs rebuildRankScript: one pipeline reading the
// registry (version, promoters, groups), then the script, again while the
// registry changes in between.
func (s *Store) rebuildRanking(ctx context.Context) error {
	kp, _, kg, kv := s.regKeys()
	for range maxCASRetries {
		pipe := s.rdb.Pipeline()
		ver := pipe.Get(ctx, kv)
		ps := pipe.HGetAll(ctx, kp)
		gs := pipe.SMembers(ctx, kg)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		version := ver.Val()
		if version == "" {
			version = "0"
		}
		codes := make([]string, 0, len(ps.Val()))
		groups := []string{""}
		for code, js := range ps.Val() {
			codes = append(codes, code)
			groups = append(groups, regGroups(js)...)
		}
		groups = append(groups, gs.Val()...)
		m, keys := s.rankKeys([]string{kp, kg, s.pgReadyKey(), kv}, codes, groups)
		args := make([]any, 0, 2+len(gs.Val()))
		args = append(args, m, version)
		for _, g := range gs.Val() {
			args = append(args, g)
		}
		n, err := rebuildRankScript.Run(ctx, s.rdb, keys, args...).Int()
		if err != nil {
			return err
		}
		if n != -2 {
			return nil
		}
	}
	return errors.New("registry kept changing; try again")
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
