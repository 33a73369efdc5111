package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// MaxDays is the longest range, in days inclusive, that EventDays and
// PromoterDays answer (they return one entry per day): tracklink.MaxDays.
const MaxDays = tracklink.MaxDays

// ordersBatch is how many attributions Orders copies per lock.
const ordersBatch = 256

// EventTraffic returns the event's figures per source key over the days
// from..to inclusive (YYYY-MM-DD, UTC), or all time when both are "". Rows
// whose figures are all zero are left out. They are sorted by Visits
// descending, then Key. Event "" is the site-wide scope. A bad date, only
// one of from and to, or from after to wraps ErrInvalid.
func (s *Store) EventTraffic(ctx context.Context, event, from, to string) ([]tracklink.SourceCounts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	allTime, err := tracklink.CheckTrafficRange(from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: event traffic: %w", ErrInvalid, err)
	}
	sum := make(map[string]*tracklink.Counts)
	s.mu.RLock()
	if e := s.events[event]; e != nil {
		if allTime {
			// the all-time buckets are read as they are (copied below,
			// still under the lock)
			sum = e.total
		} else {
			for day, m := range e.days {
				if day < from || day > to {
					continue
				}
				for k, c := range m {
					counts(sum, k).Add(*c)
				}
			}
		}
	}
	rows := make([]tracklink.SourceCounts, 0, len(sum))
	for k, c := range sum {
		if isZero(c) {
			continue
		}
		ch, src, _ := strings.Cut(k, "|")
		rows = append(rows, tracklink.SourceCounts{Key: k, Channel: tracklink.Channel(ch), Source: src, Counts: copyCounts(*c)})
	}
	s.mu.RUnlock()
	slices.SortFunc(rows, func(a, b tracklink.SourceCounts) int {
		return cmp.Or(cmp.Compare(b.Visits, a.Visits), strings.Compare(a.Key, b.Key))
	})
	return rows, nil
}

// EventDays returns the event's figures per day from..to inclusive, one
// entry per day, zero-filled. A bad date, from after to or a range over
// MaxDays days wraps ErrInvalid.
func (s *Store) EventDays(ctx context.Context, event, from, to string) ([]tracklink.DayCounts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start, n, err := tracklink.DayRange(from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: event days: %w", ErrInvalid, err)
	}
	out := make([]tracklink.DayCounts, n)
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.events[event]
	for i := range out {
		d := &out[i]
		d.Day = tracklink.Day(start.AddDate(0, 0, i))
		if e == nil {
			continue
		}
		for _, c := range e.days[d.Day] {
			d.Counts.Add(*c)
		}
		d.Counts = copyCounts(d.Counts)
	}
	return out, nil
}

// PromoterStats returns the all-time figures of each code asked for, in
// the order asked, normalised with tracklink.NormalizePromoter; a code with
// no figures gets a zero entry. Events holds the events with figures. An
// invalid code wraps ErrInvalid.
func (s *Store) PromoterStats(ctx context.Context, codes []string) ([]tracklink.PromoterStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]tracklink.PromoterStats, len(codes))
	for i, c := range codes {
		code, ok := tracklink.NormalizePromoter(c)
		if !ok {
			return nil, fmt.Errorf("%w: promoter stats: code %q is not [A-Za-z0-9_-]{1,64}", ErrInvalid, clip(c))
		}
		out[i].Code = code
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range out {
		p := s.promoters[out[i].Code]
		if p == nil {
			continue
		}
		out[i].Totals = copyCounts(p.total)
		for ev, c := range p.events {
			if isZero(c) {
				continue
			}
			if out[i].Events == nil {
				out[i].Events = make(map[string]tracklink.Counts, len(p.events))
			}
			out[i].Events[ev] = copyCounts(*c)
		}
	}
	return out, nil
}

// PromoterDays returns the promoter's figures per day from..to inclusive,
// zero-filled. A bad code, a bad date, from after to or a range over
// MaxDays days wraps ErrInvalid.
func (s *Store) PromoterDays(ctx context.Context, code, from, to string) ([]tracklink.DayCounts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return nil, fmt.Errorf("%w: promoter days: code %q is not [A-Za-z0-9_-]{1,64}", ErrInvalid, clip(code))
	}
	start, n, err := tracklink.DayRange(from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: promoter days: %w", ErrInvalid, err)
	}
	out := make([]tracklink.DayCounts, n)
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.promoters[c]
	for i := range out {
		d := &out[i]
		d.Day = tracklink.Day(start.AddDate(0, 0, i))
		if p != nil {
			if c := p.days[d.Day]; c != nil {
				d.Counts = copyCounts(*c)
			}
		}
	}
	return out, nil
}

// Orders calls fn for each recorded order of event ("" for all events),
// refunded ones included (Refunded set), oldest first by At, then OrderID.
// It sorts the matching order ids once, then copies attributions in
// batches of 256 under the read lock and calls fn with no lock held, so fn
// may call the store. Orders recorded during the walk are not visited;
// changes to visited ones (a refund) may or may not be seen. fn's error
// stops the walk and is returned as is.
func (s *Store) Orders(ctx context.Context, event string, fn func(tracklink.Attribution) error) error {
	type ref struct {
		at time.Time
		id string
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	var refs []ref
	for id, o := range s.orders {
		if event == "" || o.a.Event == event {
			refs = append(refs, ref{o.a.At, id})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(refs, func(a, b ref) int { return cmp.Or(a.at.Compare(b.at), strings.Compare(a.id, b.id)) })

	batch := make([]tracklink.Attribution, 0, min(len(refs), ordersBatch))
	for len(refs) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(refs), ordersBatch)
		batch = batch[:0]
		s.mu.RLock()
		for _, r := range refs[:n] {
			if o := s.orders[r.id]; o != nil {
				batch = append(batch, o.a)
			}
		}
		s.mu.RUnlock()
		refs = refs[n:]
		for _, a := range batch {
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}
