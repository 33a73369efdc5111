package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// MaxDays is the longest range, in days inclusive, that EventDays and
// PromoterDays answer (they return one entry per day).
const MaxDays = tracklink.MaxDays

// directDays is the longest EventTraffic range read day by day in one
// round trip; longer ranges first read which days have figures.
const directDays = 62

// addField adds one aggregate hash field (orders, tickets, excluded,
// rev:<CUR> or visits) to c.
func addField(c *tracklink.Counts, name, val string) {
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n == 0 {
		return
	}
	switch name {
	case "visits":
		c.Visits += n
	case "orders":
		c.Orders += n
	case "tickets":
		c.Tickets += n
	case "excluded":
		c.Excluded += n
	default:
		if cur, ok := strings.CutPrefix(name, "rev:"); ok {
			if c.Revenue == nil {
				c.Revenue = make(map[string]int64, 1)
			}
			c.Revenue[cur] += n
			if c.Revenue[cur] == 0 {
				delete(c.Revenue, cur)
			}
		}
	}
}

// addKeyed adds the fields "<key>|<name>" of an order-side event hash to
// the counts of each key.
func addKeyed(m map[string]*tracklink.Counts, h map[string]string) {
	for f, v := range h {
		i := strings.LastIndexByte(f, '|')
		if i < 0 {
			continue
		}
		addField(counts(m, f[:i]), f[i+1:], v)
	}
}

// addVisits adds a visit hash (key → visits) to the counts of each key.
func addVisits(m map[string]*tracklink.Counts, h map[string]string) {
	for k, v := range h {
		addField(counts(m, k), "visits", v)
	}
}

func counts(m map[string]*tracklink.Counts, key string) *tracklink.Counts {
	c := m[key]
	if c == nil {
		c = &tracklink.Counts{}
		m[key] = c
	}
	return c
}

func isZero(c *tracklink.Counts) bool {
	return c.Visits == 0 && c.Orders == 0 && c.Tickets == 0 && c.Excluded == 0 && len(c.Revenue) == 0
}

// EventTraffic returns the event's figures per source key over the days
// from..to inclusive (YYYY-MM-DD, UTC), or all time when both are "". Rows
// whose figures are all zero are left out; rows are sorted by Visits
// descending, then Key. Event "" is the site-wide scope. A bad date, only
// one of from and to, or from after to wraps ErrInvalid.
//
// All time is one pipeline of two HGETALLs; a range of up to 62 days one
// pipeline of two HGETALLs per day; a longer range first reads the days
// that have figures.
func (s *Store) EventTraffic(ctx context.Context, event, from, to string) ([]tracklink.SourceCounts, error) {
	const op = "event traffic"
	if !validScope(event) {
		return nil, invalid(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	tag := s.eventTag(event)
	sum := make(map[string]*tracklink.Counts)
	if from == "" && to == "" {
		pipe := s.rdb.Pipeline()
		v := pipe.HGetAll(ctx, tag+":v:all")
		o := pipe.HGetAll(ctx, s.eventOrderKey(event, "all"))
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, s.wrap(op, err)
		}
		addVisits(sum, v.Val())
		addKeyed(sum, o.Val())
	} else {
		start, n, err := dayRange(op, from, to, 0)
		if err != nil {
			return nil, err
		}
		var vdays, odays []string
		if n <= directDays {
			for i := range n {
				vdays = append(vdays, tracklink.Day(start.AddDate(0, 0, i)))
			}
			odays = vdays
		} else {
			pipe := s.rdb.Pipeline()
			v := pipe.SMembers(ctx, tag+":days")
			o := pipe.SMembers(ctx, s.eventOrderKey(event, "days"))
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, s.wrap(op, err)
			}
			outside := func(d string) bool { return d < from || d > to }
			vdays = slices.DeleteFunc(v.Val(), outside)
			odays = slices.DeleteFunc(o.Val(), outside)
		}
		pipe := s.rdb.Pipeline()
		vs := make([]*redis.MapStringStringCmd, len(vdays))
		os := make([]*redis.MapStringStringCmd, len(odays))
		for i, d := range vdays {
			vs[i] = pipe.HGetAll(ctx, tag+":v:"+d)
		}
		for i, d := range odays {
			os[i] = pipe.HGetAll(ctx, s.eventOrderKey(event, "d:"+d))
		}
		if len(vs)+len(os) > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, s.wrap(op, err)
			}
		}
		for _, c := range vs {
			addVisits(sum, c.Val())
		}
		for _, c := range os {
			addKeyed(sum, c.Val())
		}
	}
	rows := make([]tracklink.SourceCounts, 0, len(sum))
	for k, c := range sum {
		if isZero(c) {
			continue
		}
		ch, src, _ := strings.Cut(k, "|")
		rows = append(rows, tracklink.SourceCounts{Key: k, Channel: tracklink.Channel(ch), Source: src, Counts: *c})
	}
	slices.SortFunc(rows, func(a, b tracklink.SourceCounts) int {
		return cmp.Or(cmp.Compare(b.Visits, a.Visits), strings.Compare(a.Key, b.Key))
	})
	return rows, nil
}

// EventDays returns the event's figures per day from..to inclusive, one
// entry per day, zero-filled: one pipeline of two reads per day. A bad
// date, from after to or a range over MaxDays days wraps ErrInvalid.
func (s *Store) EventDays(ctx context.Context, event, from, to string) ([]tracklink.DayCounts, error) {
	const op = "event days"
	if !validScope(event) {
		return nil, invalid(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	start, n, err := dayRange(op, from, to, MaxDays)
	if err != nil {
		return nil, err
	}
	tag := s.eventTag(event)
	out := make([]tracklink.DayCounts, n)
	pipe := s.rdb.Pipeline()
	vs := make([]*redis.StringSliceCmd, n)
	os := make([]*redis.MapStringStringCmd, n)
	for i := range out {
		out[i].Day = tracklink.Day(start.AddDate(0, 0, i))
		vs[i] = pipe.HVals(ctx, tag+":v:"+out[i].Day)
		os[i] = pipe.HGetAll(ctx, s.eventOrderKey(event, "d:"+out[i].Day))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.wrap(op, err)
	}
	for i := range out {
		c := &out[i].Counts
		for _, v := range vs[i].Val() {
			addField(c, "visits", v)
		}
		for f, v := range os[i].Val() {
			if j := strings.LastIndexByte(f, '|'); j >= 0 {
				addField(c, f[j+1:], v)
			}
		}
	}
	return out, nil
}

// PromoterStats returns the all-time figures of each code asked for, in the
// order asked, normalised with tracklink.NormalizePromoter; a code with no
// figures gets a zero entry. Events holds the events with figures (""
// for visits on site-wide pages). An invalid code wraps ErrInvalid. One
// pipeline of two HGETALLs per code.
//
// Promoter figures, visits included, are kept by Stamp and Record on the
// promoter's own keys, so the answer does not depend on the registry.
func (s *Store) PromoterStats(ctx context.Context, codes []string) ([]tracklink.PromoterStats, error) {
	const op = "promoter stats"
	out := make([]tracklink.PromoterStats, len(codes))
	for i, c := range codes {
		code, ok := tracklink.NormalizePromoter(c)
		if !ok {
			return nil, invalid(op, "code %q is not [A-Za-z0-9_-]{1,64}", clip(c))
		}
		out[i].Code = code
	}
	if len(codes) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	all := make([]*redis.MapStringStringCmd, len(out))
	evs := make([]*redis.MapStringStringCmd, len(out))
	for i := range out {
		all[i] = pipe.HGetAll(ctx, s.promoterKey(out[i].Code, "all"))
		evs[i] = pipe.HGetAll(ctx, s.promoterKey(out[i].Code, "ev"))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.wrap(op, err)
	}
	for i := range out {
		for f, v := range all[i].Val() {
			addField(&out[i].Totals, f, v)
		}
		m := make(map[string]*tracklink.Counts)
		for f, v := range evs[i].Val() {
			ev, name, ok := strings.Cut(f, "|")
			if ok {
				addField(counts(m, ev), name, v)
			}
		}
		for ev, c := range m {
			if isZero(c) {
				continue
			}
			if out[i].Events == nil {
				out[i].Events = make(map[string]tracklink.Counts, len(m))
			}
			out[i].Events[ev] = *c
		}
	}
	return out, nil
}

// PromoterDays returns the promoter's figures per day from..to inclusive,
// zero-filled: one pipeline of one HGETALL per day. A bad code, a bad date,
// from after to or a range over MaxDays days wraps ErrInvalid.
func (s *Store) PromoterDays(ctx context.Context, code, from, to string) ([]tracklink.DayCounts, error) {
	const op = "promoter days"
	c, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return nil, invalid(op, "code %q is not [A-Za-z0-9_-]{1,64}", clip(code))
	}
	start, n, err := dayRange(op, from, to, MaxDays)
	if err != nil {
		return nil, err
	}
	out := make([]tracklink.DayCounts, n)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, n)
	for i := range out {
		out[i].Day = tracklink.Day(start.AddDate(0, 0, i))
		cmds[i] = pipe.HGetAll(ctx, s.promoterKey(c, "d:"+out[i].Day))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.wrap(op, err)
	}
	for i := range out {
		for f, v := range cmds[i].Val() {
			addField(&out[i].Counts, f, v)
		}
	}
	return out, nil
}

// dayRange parses from..to with tracklink.DayRange (limit > 0, which must
// be MaxDays) or tracklink.DaySpan (limit 0).
func dayRange(op, from, to string, limit int) (time.Time, int, error) {
	f, n, err := tracklink.DaySpan(from, to)
	if limit > 0 {
		f, n, err = tracklink.DayRange(from, to)
	}
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%w: %s: %w", ErrInvalid, op, err)
	}
	return f, n, nil
}
