package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tracklink/tracklink"
)

// MaxLimit is the largest page PromoterRanking and RecentOrders return:
// tracklink.MaxLimit.
const MaxLimit = tracklink.MaxLimit

// PromoterSummary returns the totals across the registered promoters of
// group ("" for all of them): how many there are, how many are active (at
// least one order that counts) and the sum of their all-time sales figures
// (Visits left zero). A group nobody is in, or a name that cannot be a
// group, gives a zero summary, not an error.
//
// The sums are kept per group by Record, Refund and every registry change
// (see groupAgg), so this is one map lookup and a copy.
func (s *Store) PromoterSummary(ctx context.Context, group string) (tracklink.PromoterSummary, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.PromoterSummary{}, err
	}
	g, ok := groupFilter(group)
	out := tracklink.PromoterSummary{Group: g}
	if !ok {
		return out, nil
	}
	s.mu.RLock()
	if a := s.groupAggs[g]; a != nil {
		out.Promoters, out.Active, out.Totals = a.members, a.active, copyCounts(a.totals)
	}
	s.mu.RUnlock()
	return out, nil
}

// groupAgg sums the all-time sales figures (Visits left zero) of a
// group's registered promoters. The group "" holds every registered
// promoter; no group can be named "" (names are 1 to MaxGroupLen bytes
// after trimming).
type groupAgg struct {
	members, active int
	totals          tracklink.Counts
}

// aggGroups returns the groups whose sums include code: nil when it is
// not registered, else "" and its groups. Callers hold s.mu.
func (s *Store) aggGroups(code string) []string {
	p := s.registry[code]
	if p == nil {
		return nil
	}
	return append([]string{""}, p.Groups...)
}

// moveMember takes code's figures out of the sums of the groups in old
// that are not in new, and adds them to those of new not in old. Callers
// hold s.mu for writing.
func (s *Store) moveMember(code string, old, new []string) {
	var sales tracklink.Counts
	if a := s.promoters[code]; a != nil {
		sales = a.total
	}
	sales.Visits = 0
	active := sales.Orders > 0
	for _, g := range old {
		if slices.Contains(new, g) {
			continue
		}
		a := s.groupAggs[g]
		if a == nil {
			continue
		}
		a.members--
		if active {
			a.active--
		}
		a.totals.Orders -= sales.Orders
		a.totals.Tickets -= sales.Tickets
		a.totals.Excluded -= sales.Excluded
		for cur, v := range sales.Revenue {
			if a.totals.Revenue == nil {
				a.totals.Revenue = make(map[string]int64, len(sales.Revenue))
			}
			a.totals.Revenue[cur] -= v
			if a.totals.Revenue[cur] == 0 {
				delete(a.totals.Revenue, cur)
			}
		}
		if a.members == 0 {
			delete(s.groupAggs, g)
		}
	}
	for _, g := range new {
		if slices.Contains(old, g) {
			continue
		}
		if s.groupAggs == nil {
			s.groupAggs = make(map[string]*groupAgg)
		}
		a := s.groupAggs[g]
		if a == nil {
			a = &groupAgg{}
			s.groupAggs[g] = a
		}
		a.members++
		if active {
			a.active++
		}
		a.totals.Add(sales)
	}
}

// rankOrder applies one order's change of a promoter's totals (delta, as
// apply made it) to the sums of the promoter's groups, if it is
// registered. Callers hold s.mu for writing.
func (s *Store) rankOrder(code string, wasActive, isActive bool, delta func(*tracklink.Counts)) {
	p := s.registry[code]
	if p == nil {
		return
	}
	one := func(g string) {
		a := s.groupAggs[g]
		if a == nil { // cannot happen: registered promoters are members
			return
		}
		delta(&a.totals)
		switch {
		case isActive && !wasActive:
			a.active++
		case wasActive && !isActive:
			a.active--
		}
	}
	one("")
	for _, g := range p.Groups {
		one(g)
	}
}

// PromoterRanking returns the registered promoters of group ("" for all)
// ordered by primary tickets sold, descending, then by code, rows offset
// to offset+limit-1, each with its all-time figures (visits included, as
// PromoterStats gives them). limit must be 1 to MaxLimit and offset >= 0,
// else the error wraps ErrInvalid. An unknown group gives no rows.
//
// It ranks the group's members on each call, keeping only the best
// offset+limit of them.
func (s *Store) PromoterRanking(ctx context.Context, group string, offset, limit int) ([]tracklink.RankedPromoter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := tracklink.CheckPage(offset, limit); err != nil {
		return nil, fmt.Errorf("%w: promoter ranking: %w", ErrInvalid, err)
	}
	g, ok := groupFilter(group)
	if !ok {
		return nil, nil
	}
	type ranked struct {
		tickets int64
		code    string
	}
	less := func(a, b ranked) int { // tickets descending, then code
		return cmp.Or(cmp.Compare(b.tickets, a.tickets), strings.Compare(a.code, b.code))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Keep only the best offset+limit members, sorted: one pass over the
	// registry without sorting (or allocating for) all of it.
	k := offset + limit
	top := make([]ranked, 0, min(k, len(s.registry)))
	for code, p := range s.registry {
		if g != "" && !slices.Contains(p.Groups, g) {
			continue
		}
		r := ranked{code: code}
		if a := s.promoters[code]; a != nil {
			r.tickets = a.total.Tickets
		}
		if len(top) == k && less(r, top[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, r, less)
		if len(top) < k {
			top = append(top, ranked{})
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = r
	}
	if offset >= len(top) {
		return nil, nil
	}
	rows := top[offset:]
	out := make([]tracklink.RankedPromoter, len(rows))
	for i, r := range rows {
		st := s.statsLocked(r.code)
		st.Events = nil // totals only, as the contract says
		out[i] = tracklink.RankedPromoter{Promoter: copyPromoter(s.registry[r.code]), Stats: st}
	}
	return out, nil
}

// statsLocked returns a copy of a promoter's all-time figures. Callers
// hold s.mu.
func (s *Store) statsLocked(code string) tracklink.PromoterStats {
	st := tracklink.PromoterStats{Code: code}
	p := s.promoters[code]
	if p == nil {
		return st
	}
	st.Totals = copyCounts(p.total)
	for ev, c := range p.events {
		if isZero(c) {
			continue
		}
		if st.Events == nil {
			st.Events = make(map[string]tracklink.Counts, len(p.events))
		}
		st.Events[ev] = copyCounts(*c)
	}
	return st
}

// RecentOrders returns up to limit recorded orders of event ("" for all),
// refunded ones included, newest first (by At, then OrderID, both
// descending: the reverse of Orders). limit must be 1 to MaxLimit and
// event "" or a valid slug, else the error wraps ErrInvalid.
//
// Record keeps the orders of each event (and of all events) sorted by
// time, so the cost follows limit, not the number of orders.
func (s *Store) RecentOrders(ctx context.Context, event string, limit int) ([]tracklink.Attribution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := tracklink.CheckPage(0, limit); err != nil {
		return nil, fmt.Errorf("%w: recent orders: %w", ErrInvalid, err)
	}
	if event != "" && !tracklink.ValidEvent(event) {
		return nil, fmt.Errorf("%w: recent orders: event slug %q is not [a-z0-9-]{1,64}", ErrInvalid, clip(event))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.recent[event]
	if list == nil {
		return nil, nil
	}
	newest := list.newest(limit)
	out := make([]tracklink.Attribution, len(newest))
	for i, o := range newest {
		out[i] = o.a
	}
	return out, nil
}

// indexOrder adds a newly recorded order to the time-sorted lists of its
// event and of all events (see recentList: its cost does not grow with
// the number of orders, in any arrival order). Callers hold s.mu for
// writing.
func (s *Store) indexOrder(o *order) {
	if s.recent == nil {
		s.recent = make(map[string]*recentList)
	}
	for _, key := range [...]string{"", o.a.Event} {
		list := s.recent[key]
		if list == nil {
			list = &recentList{}
			s.recent[key] = list
		}
		list.insert(o)
		if o.a.Event == "" {
			break // the order's event is the "all events" list itself
		}
	}
}

func groupFilter(group string) (string, bool) { return tracklink.GroupFilter(group) }
