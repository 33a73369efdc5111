package memstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tracklink/tracklink"
)

// MaxGroupLen is the longest group name, in bytes.
const MaxGroupLen = tracklink.MaxGroupLen

// MaxLinkIDLen is the longest campaign link id, in bytes.
const MaxLinkIDLen = tracklink.MaxLinkIDLen

// SavePromoter creates or replaces the promoter with p.Code, as
// tracklink.Promoter.Normalize makes it (an invalid promoter is refused
// with ErrInvalid; DeletedPromoter is not a valid code). Groups unknown to
// the registry are added to it. A promo code owned by another promoter is
// refused with ErrConflict and nothing is saved. Replacing a
// promoter releases the promo codes it no longer lists. A zero Created is
// kept from the promoter being replaced, else set to Now.
func (s *Store) SavePromoter(ctx context.Context, p tracklink.Promoter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	np, err := p.Normalize()
	if err != nil {
		return fmt.Errorf("%w: save promoter: %w", ErrInvalid, err)
	}
	code := np.Code

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pc := range np.PromoCodes {
		if owner, ok := s.promo[pc]; ok && owner != code {
			return fmt.Errorf("%w: promo code %q belongs to promoter %q", ErrConflict, pc, owner)
		}
	}
	if old := s.registry[code]; old != nil {
		for _, pc := range old.PromoCodes {
			delete(s.promo, pc)
		}
		if np.Created.IsZero() {
			np.Created = old.Created
		}
	}
	if np.Created.IsZero() {
		np.Created = s.now()
	}
	for _, pc := range np.PromoCodes {
		s.promo[pc] = code
	}
	for _, g := range np.Groups {
		s.groups[g] = struct{}{}
	}
	old := s.aggGroups(code)
	s.registry[code] = &np
	s.moveMember(code, old, s.aggGroups(code))
	return nil
}

// Promoter returns a copy of the promoter with code (case-insensitive); ok
// is false when there is none or code is not a valid code.
func (s *Store) Promoter(ctx context.Context, code string) (tracklink.Promoter, bool, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Promoter{}, false, err
	}
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return tracklink.Promoter{}, false, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.registry[code]
	if p == nil {
		return tracklink.Promoter{}, false, nil
	}
	return copyPromoter(p), true, nil
}

// Promoters returns copies of every promoter, ordered by code.
func (s *Store) Promoters(ctx context.Context) ([]tracklink.Promoter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	ps := make([]tracklink.Promoter, 0, len(s.registry))
	for _, p := range s.registry {
		ps = append(ps, copyPromoter(p))
	}
	s.mu.RUnlock()
	slices.SortFunc(ps, func(a, b tracklink.Promoter) int { return strings.Compare(a.Code, b.Code) })
	return ps, nil
}

// PromoterByPromoCode returns the code of the promoter owning the checkout
// promo code, compared case-insensitively after trimming spaces.
func (s *Store) PromoterByPromoCode(ctx context.Context, promo string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	promo, _ = tracklink.NormalizePromoCode(promo)
	s.mu.RLock()
	defer s.mu.RUnlock()
	code, ok := s.promo[promo]
	return code, ok, nil
}

// DeletePromoter permanently removes the promoter with code: its registry
// entry and promo codes; its figures, folded into the source
// tracklink.DeletedPromoter of each event (key "promoter|~deleted", visits
// included, every day and all time) so event totals stay right, on every
// (event, day) the promoter has figures on (its visits while registered,
// its sales: visits of a code never registered, on days it sold nothing,
// stay under the code, as in redisstore whose keys list what to fold); its own
// totals, per-event and daily figures, dropped; and its code on stored
// attributions, whose Touch.Promoter and Touch.Source become
// DeletedPromoter and Touch.Evidence "deleted promoter", as does an
// overruled touch of the code (tracklink.Attribution.ForgetPromoter; their
// figures stay). A later refund of such an order is taken off DeletedPromoter.
//
// Live sessions' touches are left alone (they expire with their TTL): an
// order placed from one of them, or a new landing on the promoter's link,
// credits the code again from scratch. Deleting an unknown code is not an
// error; an invalid one wraps ErrInvalid.
func (s *Store) DeletePromoter(ctx context.Context, code string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return fmt.Errorf("%w: promoter code is not [A-Za-z0-9_-]{1,64}", ErrInvalid)
	}
	key := string(tracklink.ChannelPromoter) + "|" + code
	del := string(tracklink.ChannelPromoter) + "|" + tracklink.DeletedPromoter
	fold := func(m map[string]*tracklink.Counts) {
		if c := m[key]; c != nil {
			counts(m, del).Add(*c)
			delete(m, key)
		}
	}
	foldKey := func(keys map[string]struct{}) {
		if _, ok := keys[key]; ok {
			delete(keys, key)
			keys[del] = struct{}{}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.registry[code]; p != nil {
		for _, pc := range p.PromoCodes {
			delete(s.promo, pc)
		}
		s.moveMember(code, s.aggGroups(code), nil)
		delete(s.registry, code)
	}
	if p := s.promoters[code]; p != nil {
		folded := make(map[string]bool)
		for ed := range p.ed {
			e := s.events[ed.event]
			if e == nil {
				continue
			}
			if m := e.days[ed.day]; m != nil {
				fold(m)
			}
			if !folded[ed.event] {
				folded[ed.event] = true
				fold(e.total)
				foldKey(e.visitKeys)
				foldKey(e.orderKeys)
			}
		}
	}
	delete(s.promoters, code)
	for _, o := range s.orders {
		if touch, _ := o.a.ForgetPromoter(code); touch && o.key == key {
			o.key = del
		}
	}
	return nil
}

// Groups returns the group names, sorted.
func (s *Store) Groups(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	gs := slices.Collect(maps.Keys(s.groups))
	s.mu.RUnlock()
	slices.Sort(gs)
	return gs, nil
}

// SaveGroup creates a group. Names are trimmed, 1 to MaxGroupLen bytes
// without control characters (else ErrInvalid); saving an existing group is
// not an error.
func (s *Store) SaveGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, err := groupName(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.groups[name] = struct{}{}
	s.mu.Unlock()
	return nil
}

// RenameGroup renames group from to to, in the registry and on every
// promoter in it. Renaming onto an existing group merges the two; renaming
// a group nobody has does nothing.
func (s *Store) RenameGroup(ctx context.Context, from, to string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	to, err := groupName(to)
	if err != nil {
		return err
	}
	from = strings.TrimSpace(from)
	if from == to {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	if _, ok := s.groups[from]; ok {
		delete(s.groups, from)
		found = true
	}
	for _, p := range s.registry {
		if i := slices.Index(p.Groups, from); i >= 0 {
			old := s.aggGroups(p.Code)
			p.Groups[i] = to
			p.Groups = set(p.Groups)
			s.moveMember(p.Code, old, s.aggGroups(p.Code))
			found = true
		}
	}
	if found {
		s.groups[to] = struct{}{}
	}
	return nil
}

// DeleteGroup removes a group from the registry and from every promoter.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, name)
	for _, p := range s.registry {
		if !slices.Contains(p.Groups, name) {
			continue
		}
		old := s.aggGroups(p.Code)
		p.Groups = slices.DeleteFunc(p.Groups, func(g string) bool { return g == name })
		if len(p.Groups) == 0 {
			p.Groups = nil
		}
		s.moveMember(p.Code, old, s.aggGroups(p.Code))
	}
	return nil
}

// SaveLink creates or replaces the campaign link with l.ID, as
// tracklink.Link.Normalize makes it (else the error wraps ErrInvalid). A zero Created
// is kept from the link being replaced, else set to Now.
func (s *Store) SaveLink(ctx context.Context, l tracklink.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, err := l.Normalize()
	if err != nil {
		return fmt.Errorf("%w: save link: %w", ErrInvalid, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Created.IsZero() {
		if old, ok := s.links[l.ID]; ok {
			l.Created = old.Created
		} else {
			l.Created = s.now()
		}
	}
	s.links[l.ID] = l
	return nil
}

// Link returns the campaign link with id.
func (s *Store) Link(ctx context.Context, id string) (tracklink.Link, bool, error) {
	if err := ctx.Err(); err != nil {
		return tracklink.Link{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.links[id]
	return l, ok, nil
}

// Links returns the campaign links of event ("" for all), oldest first
// (by Created, then ID).
func (s *Store) Links(ctx context.Context, event string) ([]tracklink.Link, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var ls []tracklink.Link
	for _, l := range s.links {
		if event == "" || l.Event == event {
			ls = append(ls, l)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(ls, func(a, b tracklink.Link) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return ls, nil
}

// DeleteLink removes a campaign link; its figures stay with its
// utm_source. Deleting a missing link is not an error.
func (s *Store) DeleteLink(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.links, id)
	s.mu.Unlock()
	return nil
}

func copyPromoter(p *tracklink.Promoter) tracklink.Promoter {
	c := *p
	c.Groups = slices.Clone(p.Groups)
	c.Events = slices.Clone(p.Events)
	c.PromoCodes = slices.Clone(p.PromoCodes)
	return c
}

// set sorts and deduplicates s in place; nil when empty.
func set(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func groupName(g string) (string, error) {
	n, ok := tracklink.NormalizeGroup(g)
	if !ok {
		return "", fmt.Errorf("%w: group name %q is not 1 to %d bytes of text", ErrInvalid, clip(g), MaxGroupLen)
	}
	return n, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
