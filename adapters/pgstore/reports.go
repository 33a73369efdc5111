package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracklink/tracklink"
)

// MaxDays and MaxLimit are tracklink's.
const (
	MaxDays  = tracklink.MaxDays
	MaxLimit = tracklink.MaxLimit
)

// figures are one aggregate row: currency "" holds visits.
type figures struct {
	currency                                   string
	visits, orders, tickets, excluded, revenue int64
}

func (f figures) addTo(c *tracklink.Counts) {
	c.Visits += f.visits
	c.Orders += f.orders
	c.Tickets += f.tickets
	c.Excluded += f.excluded
	if f.currency != "" && f.revenue != 0 {
		if c.Revenue == nil {
			c.Revenue = make(map[string]int64, 1)
		}
		c.Revenue[f.currency] += f.revenue
		if c.Revenue[f.currency] == 0 {
			delete(c.Revenue, f.currency)
		}
	}
}

func isZero(c tracklink.Counts) bool {
	return c.Visits == 0 && c.Orders == 0 && c.Tickets == 0 && c.Excluded == 0 && len(c.Revenue) == 0
}

// figureCols are the aggregate columns every figures query ends with.
const figureCols = `currency, visits, orders, tickets, excluded, revenue`
const sumCols = `currency, sum(visits)::bigint, sum(orders)::bigint, sum(tickets)::bigint, sum(excluded)::bigint, sum(revenue)::bigint`

// collect scans rows of (key columns…, figureCols) into counts by key:
// dst receives the key columns, key reads them after each scan.
func collect[K comparable](rows pgx.Rows, dst []any, key func() K) (map[K]*tracklink.Counts, error) {
	defer rows.Close()
	out := make(map[K]*tracklink.Counts)
	var f figures
	dst = append(dst, &f.currency, &f.visits, &f.orders, &f.tickets, &f.excluded, &f.revenue)
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		k := key()
		c := out[k]
		if c == nil {
			c = &tracklink.Counts{}
			out[k] = c
		}
		f.addTo(c)
	}
	return out, rows.Err()
}

func validScope(event string) bool { return event == "" || tracklink.ValidEvent(event) }

// EventTraffic returns the event's figures per source key over the days
// from..to inclusive, or all time when both are "" (the all-time rows,
// read as they are). Rows whose figures are all zero are left out; rows are
// sorted by Visits descending, then Key. One query.
func (s *Store) EventTraffic(ctx context.Context, event, from, to string) ([]tracklink.SourceCounts, error) {
	const op = "event traffic"
	if !validScope(event) {
		return nil, invalidf(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	allTime, err := tracklink.CheckTrafficRange(from, to)
	if err != nil {
		return nil, invalid(op, err)
	}
	var rows pgx.Rows
	if allTime {
		rows, err = s.pool.Query(ctx, s.sql(`select source_key, `+figureCols+` from tracklink.event_totals
			where organiser = $1 and event = $2`), organiser, event)
	} else {
		f, _ := tracklink.ParseDay(from)
		t, _ := tracklink.ParseDay(to)
		rows, err = s.pool.Query(ctx, s.sql(`select source_key, `+sumCols+` from tracklink.event_days
			where organiser = $1 and event = $2 and day between $3 and $4 group by source_key, currency`), organiser, event, f, t)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	var key string
	byKey, err := collect(rows, []any{&key}, func() string { return key })
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]tracklink.SourceCounts, 0, len(byKey))
	for k, c := range byKey {
		if isZero(*c) {
			continue
		}
		ch, src, _ := strings.Cut(k, "|")
		out = append(out, tracklink.SourceCounts{Key: k, Channel: tracklink.Channel(ch), Source: src, Counts: *c})
	}
	slices.SortFunc(out, func(a, b tracklink.SourceCounts) int {
		return cmp.Or(cmp.Compare(b.Visits, a.Visits), strings.Compare(a.Key, b.Key))
	})
	return out, nil
}

// days runs a per-day figures query and returns n zero-filled days from
// start.
func (s *Store) days(ctx context.Context, op string, start time.Time, n int, query string, args ...any) ([]tracklink.DayCounts, error) {
	rows, err := s.pool.Query(ctx, s.sql(query), args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var day time.Time
	byDay, err := collect(rows, []any{&day}, func() string { return tracklink.Day(day) })
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]tracklink.DayCounts, n)
	for i := range out {
		d := start.AddDate(0, 0, i)
		out[i].Day = tracklink.Day(d)
		if c := byDay[out[i].Day]; c != nil {
			out[i].Counts = *c
		}
	}
	return out, nil
}

// EventDays returns the event's figures per day from..to inclusive, one
// entry per day, zero-filled (tracklink.DayRange). One query.
func (s *Store) EventDays(ctx context.Context, event, from, to string) ([]tracklink.DayCounts, error) {
	const op = "event days"
	if !validScope(event) {
		return nil, invalidf(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	start, n, err := tracklink.DayRange(from, to)
	if err != nil {
		return nil, invalid(op, err)
	}
	return s.days(ctx, op, start, n, `select day, `+sumCols+` from tracklink.event_days
		where organiser = $1 and event = $2 and day between $3 and $4 group by day, currency`,
		organiser, event, start, start.AddDate(0, 0, n-1))
}

// PromoterDays returns the promoter's figures per day from..to inclusive,
// zero-filled. A bad code or range wraps ErrInvalid. One query.
func (s *Store) PromoterDays(ctx context.Context, code, from, to string) ([]tracklink.DayCounts, error) {
	const op = "promoter days"
	c, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return nil, invalidf(op, "promoter code %q is not [A-Za-z0-9_-]{1,64}", clip(code))
	}
	start, n, err := tracklink.DayRange(from, to)
	if err != nil {
		return nil, invalid(op, err)
	}
	return s.days(ctx, op, start, n, `select day, `+figureCols+` from tracklink.promoter_days
		where organiser = $1 and code = $2 and day between $3 and $4`,
		organiser, c, start, start.AddDate(0, 0, n-1))
}

// PromoterStats returns the all-time figures of each code asked for, in
// the order asked (normalised; an invalid code wraps ErrInvalid), zero for
// a code with none, with the per-event figures. One query.
func (s *Store) PromoterStats(ctx context.Context, codes []string) ([]tracklink.PromoterStats, error) {
	const op = "promoter stats"
	out := make([]tracklink.PromoterStats, len(codes))
	norm := make([]string, len(codes))
	for i, c := range codes {
		code, ok := tracklink.NormalizePromoter(c)
		if !ok {
			return nil, invalidf(op, "code %q is not [A-Za-z0-9_-]{1,64}", clip(c))
		}
		out[i].Code, norm[i] = code, code
	}
	if len(codes) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.sql(`
		select code, true, '', `+figureCols+` from tracklink.promoter_totals where organiser = $1 and code = any($2)
		union all
		select code, false, event, `+figureCols+` from tracklink.promoter_events where organiser = $1 and code = any($2)`),
		organiser, norm)
	if err != nil {
		return nil, wrap(op, err)
	}
	type row struct {
		code  string
		total bool
		event string
	}
	var k row
	byKey, err := collect(rows, []any{&k.code, &k.total, &k.event}, func() row { return k })
	if err != nil {
		return nil, wrap(op, err)
	}
	for i := range out {
		code := out[i].Code
		if c := byKey[row{code, true, ""}]; c != nil {
			out[i].Totals = *c
		}
		for rk, c := range byKey {
			if rk.code != code || rk.total || isZero(*c) {
				continue
			}
			if out[i].Events == nil {
				out[i].Events = make(map[string]tracklink.Counts)
			}
			out[i].Events[rk.event] = *c
		}
	}
	return copyStats(out), nil
}

// copyStats gives entries asked for twice their own revenue maps.
func copyStats(ps []tracklink.PromoterStats) []tracklink.PromoterStats {
	seen := make(map[string]bool, len(ps))
	for i := range ps {
		if !seen[ps[i].Code] {
			seen[ps[i].Code] = true
			continue
		}
		ps[i].Totals = copyCounts(ps[i].Totals)
		ev := make(map[string]tracklink.Counts, len(ps[i].Events))
		for e, c := range ps[i].Events {
			ev[e] = copyCounts(c)
		}
		if len(ev) > 0 {
			ps[i].Events = ev
		}
	}
	return ps
}

func copyCounts(c tracklink.Counts) tracklink.Counts {
	if c.Revenue != nil {
		m := make(map[string]int64, len(c.Revenue))
		for k, v := range c.Revenue {
			m[k] = v
		}
		c.Revenue = m
	}
	return c
}

// PromoterSummary returns the totals across the registered promoters of
// group ("" for all; trimmed like a group name, and a name no group can
// have is empty): read from the sums Record, Refund and every registry
// change keep, so one round trip (two queries in a batch) whatever the
// number of promoters.
func (s *Store) PromoterSummary(ctx context.Context, group string) (tracklink.PromoterSummary, error) {
	const op = "promoter summary"
	g, ok := tracklink.GroupFilter(group)
	out := tracklink.PromoterSummary{Group: g}
	if !ok {
		return out, nil
	}
	b := &pgx.Batch{}
	b.Queue(s.sql(`select members, active from tracklink.group_totals where organiser = $1 and grp = $2`), organiser, g).
		QueryRow(func(r pgx.Row) error {
			err := r.Scan(&out.Promoters, &out.Active)
			if err == pgx.ErrNoRows {
				return nil
			}
			return err
		})
	b.Queue(s.sql(`select currency, 0::bigint, orders, tickets, excluded, revenue from tracklink.group_figures
		where organiser = $1 and grp = $2`), organiser, g).
		Query(func(rows pgx.Rows) error {
			m, err := collect(rows, nil, func() bool { return true })
			if c := m[true]; c != nil {
				out.Totals = *c
			}
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return tracklink.PromoterSummary{}, wrap(op, err)
	}
	return out, nil
}

// PromoterRanking returns the registered promoters of group ("" for all),
// ordered by primary tickets sold, descending, then by code, rows offset
// to offset+limit-1 (tracklink.CheckPage), each with its registry entry and
// all-time totals. An index scan over the group's members ordered by
// tickets (kept by Record and Refund) reads offset+limit rows; then one
// query reads the page's totals.
func (s *Store) PromoterRanking(ctx context.Context, group string, offset, limit int) ([]tracklink.RankedPromoter, error) {
	const op = "promoter ranking"
	if err := tracklink.CheckPage(offset, limit); err != nil {
		return nil, invalid(op, err)
	}
	g, ok := tracklink.GroupFilter(group)
	if !ok {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.sql(`select p.code, p.name, p.groups, p.events, p.promo_codes, p.created
		from tracklink.group_members m join tracklink.promoters p on p.organiser = m.organiser and p.code = m.code
		where m.organiser = $1 and m.grp = $2 order by m.tickets desc, m.code limit $3 offset $4`),
		organiser, g, limit, offset)
	if err != nil {
		return nil, wrap(op, err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracklink.Promoter, error) { return scanPromoter(r) })
	if err != nil {
		return nil, wrap(op, err)
	}
	if len(ps) == 0 {
		return nil, nil
	}
	codes := make([]string, len(ps))
	for i, p := range ps {
		codes[i] = p.Code
	}
	trows, err := s.pool.Query(ctx, s.sql(`select code, `+figureCols+` from tracklink.promoter_totals
		where organiser = $1 and code = any($2)`), organiser, codes)
	if err != nil {
		return nil, wrap(op, err)
	}
	var code string
	totals, err := collect(trows, []any{&code}, func() string { return code })
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]tracklink.RankedPromoter, len(ps))
	for i, p := range ps {
		out[i] = tracklink.RankedPromoter{Promoter: p, Stats: tracklink.PromoterStats{Code: p.Code}}
		if c := totals[p.Code]; c != nil {
			out[i].Stats.Totals = *c
		}
	}
	return out, nil
}

func decodeAttributions(rows pgx.Rows) ([]tracklink.Attribution, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracklink.Attribution, error) {
		var body []byte
		var a tracklink.Attribution
		if err := r.Scan(&body); err != nil {
			return a, err
		}
		if err := json.Unmarshal(body, &a); err != nil {
			return a, fmt.Errorf("decode stored attribution: %w", err)
		}
		return a, nil
	})
}

// RecentOrders returns up to limit (1 to MaxLimit) recorded orders of
// event ("" for all), refunded ones included, newest first (by time, then
// order id, both descending: the reverse of Orders). One index scan.
func (s *Store) RecentOrders(ctx context.Context, event string, limit int) ([]tracklink.Attribution, error) {
	const op = "recent orders"
	if err := tracklink.CheckPage(0, limit); err != nil {
		return nil, invalid(op, err)
	}
	if !validScope(event) {
		return nil, invalidf(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	q, args := `select attribution from tracklink.orders where organiser = $1
		order by at desc, order_id desc limit $2`, []any{organiser, limit}
	if event != "" {
		q, args = `select attribution from tracklink.orders where organiser = $1 and event = $3
			order by at desc, order_id desc limit $2`, []any{organiser, limit, event}
	}
	rows, err := s.pool.Query(ctx, s.sql(q), args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	as, err := decodeAttributions(rows)
	if err != nil {
		return nil, wrap(op, err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	return as, nil
}

// Orders calls fn for each recorded order of event ("" for all events),
// refunded ones included, oldest first (by time, to the microsecond, then
// order id), Options.OrdersBatch orders per query (keyset pagination, so
// each query costs the same however far the walk is). Orders recorded
// during the walk after the current position are seen. fn's error stops
// the walk and is returned as is.
func (s *Store) Orders(ctx context.Context, event string, fn func(tracklink.Attribution) error) error {
	const op = "orders"
	if !validScope(event) {
		return invalidf(op, "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	where, args := `organiser = $1`, []any{organiser, s.opts.OrdersBatch}
	if event != "" {
		where, args = `organiser = $1 and event = $3`, append(args, event)
	}
	const cols = `select at, order_id, attribution from tracklink.orders where `
	firstQ := s.sql(cols + where + ` order by at, order_id limit $2`)
	nextQ := s.sql(cols + where + fmt.Sprintf(` and (at, order_id) > ($%d, $%d) order by at, order_id limit $2`, len(args)+1, len(args)+2))
	q := firstQ
	for {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return wrap(op, err)
		}
		type item struct {
			at   time.Time
			id   string
			body []byte
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var it item
			return it, r.Scan(&it.at, &it.id, &it.body)
		})
		if err != nil {
			return wrap(op, err)
		}
		for _, it := range batch {
			var a tracklink.Attribution
			if err := json.Unmarshal(it.body, &a); err != nil {
				return wrap(op, fmt.Errorf("decode stored attribution: %w", err))
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(batch) < s.opts.OrdersBatch {
			return nil
		}
		last := batch[len(batch)-1]
		if q == firstQ {
			args = append(args, nil, nil)
			q = nextQ
		}
		args[len(args)-2], args[len(args)-1] = last.at, last.id
	}
}
