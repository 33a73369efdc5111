package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// DeletePromoter permanently removes the promoter with code: its registry
// entry and promo codes; its figures, folded into the source
// tracklink.DeletedPromoter of each event (key "promoter|~deleted", visits
// included, every day and all time) so event totals stay right; its own
// totals, per-event and daily figures, dropped; and its code on stored
// attributions, whose Touch.Promoter and Touch.Source become
// DeletedPromoter and Touch.Evidence "deleted promoter" (their figures
// stay), as does an overruled touch of the code
// (tracklink.Attribution.ForgetPromoter). A later refund of such an order is taken off DeletedPromoter.
// Deleting an unknown code is not an error; an invalid one wraps
// ErrInvalid.
//
// How: it reads the promoter's registration, order ids, attributions,
// days and (event, day) pairs, folds the visit counters of each pair (one small idempotent script
// per visit hash, in the events' slots), then runs one order-side script
// that checks nothing changed since (else it starts again), rewrites the
// attributions, folds the sales figures and drops the promoter's keys and
// registry entry. No SCAN: the promoter's keys list what to fold, so the
// visits folded are those counted while the code was registered and those
// on the (event, day)s of its sales; other visits of a code never
// registered stay under it. The visit fold runs first so that a failure
// anywhere leaves the registry entry and the pair set in place: calling
// DeletePromoter again finishes the job.
//
// Live sessions' touches are left alone (they expire with their TTL), as in
// memstore: an order placed from one of them, or a new landing on the
// promoter's link, credits the code again from scratch. A visit counted on
// an already folded (event, day) in the instant between the visit fold and
// the script stays under the code.
func (s *Store) DeletePromoter(ctx context.Context, code string) error {
	const op = "delete promoter"
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return invalid(op, "promoter code is not [A-Za-z0-9_-]{1,64}")
	}
	if err := s.forgetOverruled(ctx, code); err != nil {
		return s.wrap(op, err)
	}
	kp, kpc, _, kv := s.regKeys()
	for range maxCASRetries {
		pipe := s.rdb.Pipeline()
		idsCmd := pipe.SMembers(ctx, s.promoterKey(code, "orders"))
		edCmd := pipe.SMembers(ctx, s.promoterKey(code, "ed"))
		daysCmd := pipe.SMembers(ctx, s.promoterKey(code, "days"))
		regCmd := pipe.HGet(ctx, kp, code)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return s.wrap(op, err)
		}
		ids, ed, days, reg := idsCmd.Val(), edCmd.Val(), daysCmd.Val(), regCmd.Val()
		// Fold the visit counters first: folding is idempotent, and the
		// registry entry and the pair set stay until the order-side script
		// ran, so a call that fails anywhere leaves what a retry needs.
		if err := s.foldVisits(ctx, code, ed); err != nil {
			return s.wrap(op, err)
		}
		keys := make([]string, 0, 8+len(ids)+3*len(ed)+len(days)+8)
		keys = append(keys, kp, kpc, kv)
		for _, part := range []string{"all", "ev", "orders", "days", "ed"} {
			keys = append(keys, s.promoterKey(code, part))
		}
		args := make([]any, 0, 7+3*len(ids)+len(ed)+len(days))
		args = append(args, "", code, tracklink.DeletedPromoter, reg, len(ids), len(ed), len(days))
		if len(ids) > 0 {
			pipe := s.rdb.Pipeline()
			cmds := make([]*redis.StringCmd, len(ids))
			for i, id := range ids {
				cmds[i] = pipe.HGet(ctx, s.orderKey(id), "a")
			}
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return s.wrap(op, err)
			}
			for i, id := range ids {
				keys = append(keys, s.orderKey(id))
				old := cmds[i].Val()
				if old == "" {
					args = append(args, id, "", "")
					continue
				}
				var a tracklink.Attribution
				if err := json.Unmarshal([]byte(old), &a); err != nil {
					return s.wrap(op, fmt.Errorf("decode stored attribution: %w", err))
				}
				a.ForgetPromoter(code)
				body, err := json.Marshal(a)
				if err != nil {
					return s.wrap(op, err)
				}
				args = append(args, id, old, body)
			}
		}
		for _, p := range ed {
			ev, day, _ := strings.Cut(p, " ")
			keys = append(keys, s.eventOrderKey(ev, "d:"+day), s.eventOrderKey(ev, "all"), s.eventOrderKey(ev, "keys"))
			args = append(args, p)
		}
		for _, d := range days {
			keys = append(keys, s.promoterKey(code, "d:"+d))
			args = append(args, d)
		}
		var groups []string
		if reg != "" {
			groups = regGroups(reg)
		}
		var m string
		m, keys = s.rankKeys(keys, []string{code}, groups)
		args[0] = m
		done, err := deletePromoterScript.Run(ctx, s.rdb, keys, args...).Int()
		if err != nil {
			return s.wrap(op, err)
		}
		if done == 1 {
			return nil
		}
	}
	return s.wrap(op, errors.New("orders kept changing; try again"))
}

// forgetOverruled rewrites the stored attributions whose overruled touch
// names code (tracklink.Attribution.ForgetPromoter), those Record listed in
// the code's overruled set, one small compare-and-set script per order,
// until the set is empty. It runs before the order-side script, which
// then reads the rewritten attributions.
func (s *Store) forgetOverruled(ctx context.Context, code string) error {
	kovr := s.promoterKey(code, "ovr")
	for range maxCASRetries {
		ids, err := s.rdb.SMembers(ctx, kovr).Result()
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(ids))
		for i, id := range ids {
			cmds[i] = pipe.HGet(ctx, s.orderKey(id), "a")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		calls := make([]scriptCall, 0, len(ids))
		for i, id := range ids {
			old, body := cmds[i].Val(), ""
			if old != "" {
				var a tracklink.Attribution
				if err := json.Unmarshal([]byte(old), &a); err != nil {
					return fmt.Errorf("decode stored attribution: %w", err)
				}
				if _, changed := a.ForgetPromoter(code); changed {
					b, err := json.Marshal(a)
					if err != nil {
						return err
					}
					body = string(b)
				}
			}
			calls = append(calls, scriptCall{forgetOverruledScript, []string{s.orderKey(id), kovr}, []any{id, old, body}})
		}
		if err := execScripts(ctx, s.rdb, calls); err != nil {
			return err
		}
	}
	return errors.New("orders kept changing; try again")
}

// foldVisits moves the visit counts of "promoter|<code>" onto
// "promoter|~deleted" in each (event, day) pair's hashes and the events'
// all-time hashes, one pipeline of small scripts.
func (s *Store) foldVisits(ctx context.Context, code string, ed []string) error {
	if len(ed) == 0 {
		return nil
	}
	from := string(tracklink.ChannelPromoter) + "|" + code
	to := string(tracklink.ChannelPromoter) + "|" + tracklink.DeletedPromoter
	var calls []scriptCall
	seen := make(map[string]bool)
	for _, p := range ed {
		ev, day, ok := strings.Cut(p, " ")
		if !ok || !validScope(ev) {
			continue
		}
		tag := s.eventTag(ev)
		calls = append(calls, scriptCall{foldScript, []string{tag + ":v:" + day}, []any{from, to}})
		if !seen[ev] {
			seen[ev] = true
			calls = append(calls, scriptCall{foldScript, []string{tag + ":v:all"}, []any{from, to}})
		}
	}
	if len(calls) == 0 {
		return nil
	}
	return execScripts(ctx, s.rdb, calls)
}
