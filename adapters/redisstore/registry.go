package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// ErrConflict is wrapped when a promo code already belongs to another
// promoter.
var ErrConflict = fmt.Errorf("redisstore: %w", tracklink.ErrConflict)

// MaxGroupLen is the longest group name, in bytes.
const MaxGroupLen = tracklink.MaxGroupLen

// MaxLinkIDLen is the longest campaign link id, in bytes.
const MaxLinkIDLen = tracklink.MaxLinkIDLen

// maxCASRetries bounds the optimistic retries of registry edits that read
// first (group renames and deletions, DeletePromoter).
const maxCASRetries = 16

func (s *Store) regKeys() (promoters, promos, groups, regver string) {
	b := s.orderBase
	return b + "promoters", b + "promos", b + "groups", b + "regver"
}

// SavePromoter creates or replaces the promoter with p.Code, as
// tracklink.Promoter.Normalize makes it (else the error wraps ErrInvalid);
// unknown groups are added to the registry. A promo code owned by another
// promoter wraps ErrConflict and nothing is saved. Replacing a
// promoter releases the promo codes it no longer lists. A zero Created is
// kept from the promoter being replaced, else set to Options.Now.
//
// The script is given the keys of the group aggregates of both the new
// registration and the stored one, so it needs the stored one: with a zero
// Created, one HGET then the script (two round trips); else the script
// first assumes a new promoter (one round trip) and, replacing one, is
// sent again with the stored registration it replied (two).
func (s *Store) SavePromoter(ctx context.Context, p tracklink.Promoter) error {
	np, err := p.Normalize()
	if err != nil {
		return fmt.Errorf("%w: save promoter: %w", ErrInvalid, err)
	}
	code := np.Code
	kp, kpc, kg, kv := s.regKeys()
	var read string // the stored registration the keys are named from
	if np.Created.IsZero() {
		read, err = s.rdb.HGet(ctx, kp, code).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return s.wrap("save promoter", err)
		}
		np.Created = s.opts.Now()
		if read != "" {
			var old tracklink.Promoter
			if err := json.Unmarshal([]byte(read), &old); err != nil {
				return s.wrap("save promoter", fmt.Errorf("decode stored promoter: %w", err))
			}
			np.Created = old.Created
		}
	}
	body, err := json.Marshal(np)
	if err != nil {
		return s.wrap("save promoter", err)
	}
	for range maxCASRetries {
		groups := regGroups(string(body))
		if read != "" {
			groups = append(groups, regGroups(read)...)
		}
		m, keys := s.rankKeys([]string{kp, kpc, kg, kv}, []string{code}, groups)
		args := make([]any, 0, 5+len(np.PromoCodes)+len(np.Groups))
		args = append(args, m, code, body, read, len(np.PromoCodes))
		for _, pc := range np.PromoCodes {
			args = append(args, pc)
		}
		for _, g := range np.Groups {
			args = append(args, g)
		}
		res, err := savePromoterScript.Run(ctx, s.rdb, keys, args...).Slice()
		if err != nil {
			return s.wrap("save promoter", err)
		}
		if len(res) == 2 && res[0] == int64(-2) {
			read = str(res[1])
			continue
		}
		if len(res) >= 3 && res[0] == int64(0) {
			return fmt.Errorf("redisstore: save promoter: %w: promo code %q belongs to promoter %q", ErrConflict, res[1], res[2])
		}
		return nil
	}
	return s.wrap("save promoter", errors.New("the promoter kept changing; try again"))
}

// Promoter returns the promoter with code (case-insensitive); ok is false
// when there is none or code is not a valid code. One HGET.
func (s *Store) Promoter(ctx context.Context, code string) (tracklink.Promoter, bool, error) {
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return tracklink.Promoter{}, false, nil
	}
	kp, _, _, _ := s.regKeys()
	b, err := s.rdb.HGet(ctx, kp, code).Bytes()
	if errors.Is(err, redis.Nil) {
		return tracklink.Promoter{}, false, nil
	}
	if err != nil {
		return tracklink.Promoter{}, false, s.wrap("promoter", err)
	}
	var p tracklink.Promoter
	if err := json.Unmarshal(b, &p); err != nil {
		return tracklink.Promoter{}, false, s.wrap("promoter", fmt.Errorf("decode stored promoter: %w", err))
	}
	return p, true, nil
}

// Promoters returns every promoter, ordered by code. One HGETALL.
func (s *Store) Promoters(ctx context.Context) ([]tracklink.Promoter, error) {
	ps, err := s.promoters(ctx, s.rdb)
	if err != nil {
		return nil, s.wrap("promoters", err)
	}
	return ps, nil
}

func (s *Store) promoters(ctx context.Context, c redis.Cmdable) ([]tracklink.Promoter, error) {
	kp, _, _, _ := s.regKeys()
	m, err := c.HGetAll(ctx, kp).Result()
	if err != nil {
		return nil, err
	}
	ps := make([]tracklink.Promoter, 0, len(m))
	for _, v := range m {
		var p tracklink.Promoter
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("decode stored promoter: %w", err)
		}
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b tracklink.Promoter) int { return strings.Compare(a.Code, b.Code) })
	return ps, nil
}

// PromoterByPromoCode returns the code of the promoter owning the checkout
// promo code, compared case-insensitively after trimming spaces. One HGET.
func (s *Store) PromoterByPromoCode(ctx context.Context, promo string) (string, bool, error) {
	promo = strings.ToLower(strings.TrimSpace(promo))
	if !tracklink.ValidPromoCode(promo) {
		return "", false, nil
	}
	_, kpc, _, _ := s.regKeys()
	code, err := s.rdb.HGet(ctx, kpc, promo).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, s.wrap("promoter by promo code", err)
	}
	return code, true, nil
}

// Groups returns the group names, sorted. One SMEMBERS.
func (s *Store) Groups(ctx context.Context) ([]string, error) {
	_, _, kg, _ := s.regKeys()
	gs, err := s.rdb.SMembers(ctx, kg).Result()
	if err != nil {
		return nil, s.wrap("groups", err)
	}
	slices.Sort(gs)
	return gs, nil
}

// SaveGroup creates a group. Names are trimmed, 1 to MaxGroupLen bytes
// without control characters (else ErrInvalid); saving an existing group is
// not an error. One SADD.
func (s *Store) SaveGroup(ctx context.Context, name string) error {
	name, err := groupName("save group", name)
	if err != nil {
		return err
	}
	_, _, kg, _ := s.regKeys()
	if err := s.rdb.SAdd(ctx, kg, name).Err(); err != nil {
		return s.wrap("save group", err)
	}
	return nil
}

// RenameGroup renames group from to to, in the registry and on every
// promoter in it. Renaming onto an existing group merges the two; renaming
// a group nobody has does nothing. It reads the promoters, then applies the
// edit in one script that checks nothing changed in between (else it reads
// again).
func (s *Store) RenameGroup(ctx context.Context, from, to string) error {
	to, err := groupName("rename group", to)
	if err != nil {
		return err
	}
	from = strings.TrimSpace(from)
	if from == to {
		return nil
	}
	return s.editGroups(ctx, "rename group", "rename", from, to, func(p *tracklink.Promoter) bool {
		i := slices.Index(p.Groups, from)
		if i < 0 {
			return false
		}
		p.Groups[i] = to
		p.Groups = set(p.Groups)
		return true
	})
}

// DeleteGroup removes a group from the registry and from every promoter,
// like RenameGroup in one checked script.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	return s.editGroups(ctx, "delete group", "delete", name, "", func(p *tracklink.Promoter) bool {
		n := len(p.Groups)
		p.Groups = slices.DeleteFunc(p.Groups, func(g string) bool { return g == name })
		if len(p.Groups) == 0 {
			p.Groups = nil
		}
		return len(p.Groups) != n
	})
}

func (s *Store) editGroups(ctx context.Context, op, script, from, to string, edit func(*tracklink.Promoter) bool) error {
	kp, _, kg, kv := s.regKeys()
	for range maxCASRetries {
		pipe := s.rdb.Pipeline()
		ver := pipe.Get(ctx, kv)
		isMember := pipe.SIsMember(ctx, kg, from)
		_, err := pipe.Exec(ctx)
		if err != nil && !errors.Is(err, redis.Nil) {
			return s.wrap(op, err)
		}
		version := ver.Val()
		if version == "" {
			version = "0"
		}
		ps, err := s.promoters(ctx, s.rdb)
		if err != nil {
			return s.wrap(op, err)
		}
		args := []any{"", script, from, to, version}
		found := isMember.Val()
		var codes, groups []string
		if from != "" {
			groups = append(groups, from)
		}
		for i := range ps {
			before := aggregateGroups(ps[i].Groups)
			if !edit(&ps[i]) {
				continue
			}
			found = true
			body, err := json.Marshal(ps[i])
			if err != nil {
				return s.wrap(op, err)
			}
			args = append(args, ps[i].Code, body)
			codes = append(codes, ps[i].Code)
			groups = append(append(groups, before...), aggregateGroups(ps[i].Groups)...)
		}
		if script == "rename" && !found {
			return nil
		}
		m, keys := s.rankKeys([]string{kp, kg, kv}, codes, groups)
		args[0] = m
		ok, err := groupScript.Run(ctx, s.rdb, keys, args...).Int()
		if err != nil {
			return s.wrap(op, err)
		}
		if ok == 1 {
			return nil
		}
	}
	return s.wrap(op, errors.New("registry kept changing; try again"))
}

// aggregateGroups returns the aggregate groups of a registered promoter
// in groups: "" followed by the non-empty names (see regGroups).
func aggregateGroups(groups []string) []string {
	gs := []string{""}
	for _, g := range groups {
		if g != "" {
			gs = append(gs, g)
		}
	}
	return gs
}

// SaveLink creates or replaces the campaign link with l.ID, as
// tracklink.Link.Normalize makes it (else the error wraps ErrInvalid). A
// zero Created is kept from the link being replaced, else set to
// Options.Now. One script (one round trip, plus one HGET when Created is
// zero); moving a stored link to another event costs one more script
// unless Created was zero, as the script is given the index set of the
// link's stored event.
func (s *Store) SaveLink(ctx context.Context, l tracklink.Link) error {
	l, err := l.Normalize()
	if err != nil {
		return fmt.Errorf("%w: save link: %w", ErrInvalid, err)
	}
	oldEvent := ""
	if l.Created.IsZero() {
		old, ok, err := s.Link(ctx, l.ID)
		if err != nil {
			return err
		}
		if ok {
			l.Created = old.Created
			oldEvent = old.Event
		} else {
			l.Created = s.opts.Now()
		}
	}
	body, err := json.Marshal(l)
	if err != nil {
		return s.wrap("save link", err)
	}
	for range maxCASRetries {
		keys := []string{s.linksKey(), s.linkEventKey(l.Event)}
		if oldEvent == l.Event {
			oldEvent = ""
		}
		if oldEvent != "" {
			keys = append(keys, s.linkEventKey(oldEvent))
		}
		res, err := saveLinkScript.Run(ctx, s.rdb, keys, l.ID, body, l.Event, oldEvent).Slice()
		if err != nil {
			return s.wrap("save link", err)
		}
		if len(res) == 2 && res[0] == int64(-2) {
			oldEvent = str(res[1])
			continue
		}
		return nil
	}
	return s.wrap("save link", errors.New("the link kept changing; try again"))
}

// Link returns the campaign link with id. One HGET.
func (s *Store) Link(ctx context.Context, id string) (tracklink.Link, bool, error) {
	if !tracklink.ValidLinkID(id) {
		return tracklink.Link{}, false, nil
	}
	b, err := s.rdb.HGet(ctx, s.linksKey(), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return tracklink.Link{}, false, nil
	}
	if err != nil {
		return tracklink.Link{}, false, s.wrap("link", err)
	}
	var l tracklink.Link
	if err := json.Unmarshal(b, &l); err != nil {
		return tracklink.Link{}, false, s.wrap("link", fmt.Errorf("decode stored link: %w", err))
	}
	return l, true, nil
}

// Links returns the campaign links of event ("" for all), oldest first (by
// Created, then ID). For one event, one script reads the event's index set
// and only its links (see linkValues); for all, one HGETALL.
func (s *Store) Links(ctx context.Context, event string) ([]tracklink.Link, error) {
	m, err := s.linkValues(ctx, event)
	if err != nil {
		return nil, s.wrap("links", err)
	}
	var ls []tracklink.Link
	for _, v := range m {
		var l tracklink.Link
		if err := json.Unmarshal([]byte(v), &l); err != nil {
			return nil, s.wrap("links", fmt.Errorf("decode stored link: %w", err))
		}
		if event == "" || l.Event == event {
			ls = append(ls, l)
		}
	}
	slices.SortFunc(ls, func(a, b tracklink.Link) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return ls, nil
}

// DeleteLink removes a campaign link; its figures stay with its
// utm_source. Deleting a missing link is not an error. One script for a
// missing link; two for a stored one (the first replies its event, whose
// index set the second is given).
func (s *Store) DeleteLink(ctx context.Context, id string) error {
	if !tracklink.ValidLinkID(id) {
		return nil
	}
	event := ""
	for range maxCASRetries {
		keys := []string{s.linksKey()}
		if event != "" {
			keys = append(keys, s.linkEventKey(event))
		}
		res, err := deleteLinkScript.Run(ctx, s.rdb, keys, id, event).Slice()
		if err != nil {
			return s.wrap("delete link", err)
		}
		if len(res) == 2 && res[0] == int64(-2) {
			event = str(res[1])
			continue
		}
		return nil
	}
	return s.wrap("delete link", errors.New("the link kept changing; try again"))
}

// set sorts and deduplicates s in place; nil when empty.
func set(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func groupName(op, g string) (string, error) {
	n, ok := tracklink.NormalizeGroup(g)
	if !ok {
		return "", invalid(op, "group name %q is not 1 to %d bytes of text", clip(g), MaxGroupLen)
	}
	return n, nil
}
