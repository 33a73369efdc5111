package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tracklink/tracklink"
)

// Registry writes take, in this order, the registry's advisory lock (one
// registry write at a time: they are rare), the promoters' locks (the ones
// Record takes, in code order), then rows, so that they never deadlock
// with each other; the rare deadlock with an order's figures is retried.

func lockRegistry(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `select pg_advisory_xact_lock(1953264231, hashtext($1))`, organiser)
	return err
}

// aggGroups returns the group sums a registered promoter with groups is
// part of: "" (every registered promoter) and its groups.
func aggGroups(groups []string) []string { return append([]string{""}, groups...) }

func (s *Store) moveMember(ctx context.Context, tx pgx.Tx, code string, old, new []string) error {
	if old == nil {
		old = []string{}
	}
	if new == nil {
		new = []string{}
	}
	_, err := tx.Exec(ctx, s.sql(`select tracklink.move_member($1, $2, $3, $4)`), organiser, code, old, new)
	return err
}

// SavePromoter creates or replaces the promoter with p.Code, as
// tracklink.Promoter.Normalize makes it (else the error wraps ErrInvalid):
// its row, its promo codes (a code owned by another promoter wraps
// ErrConflict and nothing is saved; codes it no longer lists are
// released), unknown groups, and its place in the group sums (moved with
// its figures). A zero Created is kept from the promoter being replaced,
// else set to Options.Now. One transaction.
func (s *Store) SavePromoter(ctx context.Context, p tracklink.Promoter) error {
	np, err := p.Normalize()
	if err != nil {
		return invalid("save promoter", err)
	}
	now := s.opts.Now()
	return s.tx(ctx, "save promoter", func(tx pgx.Tx) error {
		if err := lockRegistry(ctx, tx); err != nil {
			return err
		}
		if err := lockPromoter(ctx, tx, np.Code); err != nil {
			return err
		}
		var promo, owner string
		err := tx.QueryRow(ctx, s.sql(`select promo_code, code from tracklink.promo_codes
			where organiser = $1 and promo_code = any($2) and code <> $3 order by promo_code limit 1`),
			organiser, nonNil(np.PromoCodes), np.Code).Scan(&promo, &owner)
		if err == nil {
			return conflictError{promo, owner}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var oldGroups []string
		var old *tracklink.Promoter
		row := tx.QueryRow(ctx, s.sql(`select groups, created from tracklink.promoters where organiser = $1 and code = $2`), organiser, np.Code)
		var op tracklink.Promoter
		switch err := row.Scan(&oldGroups, &op.Created); {
		case err == nil:
			old = &op
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if np.Created.IsZero() {
			np.Created = now
			if old != nil {
				np.Created = old.Created
			}
		}
		batch := &pgx.Batch{}
		batch.Queue(s.sql(`delete from tracklink.promo_codes where organiser = $1 and code = $2`), organiser, np.Code)
		batch.Queue(s.sql(`insert into tracklink.promo_codes (organiser, promo_code, code) select $1, pc, $2 from unnest($3::text[]) as pc`),
			organiser, np.Code, nonNil(np.PromoCodes))
		batch.Queue(s.sql(`insert into tracklink.groups (organiser, name) select $1, g from unnest($2::text[]) as g on conflict do nothing`),
			organiser, nonNil(np.Groups))
		batch.Queue(s.sql(`insert into tracklink.promoters (organiser, code, name, groups, events, promo_codes, created)
			values ($1, $2, $3, $4, $5, $6, $7)
			on conflict (organiser, code) do update set name = excluded.name, groups = excluded.groups,
				events = excluded.events, promo_codes = excluded.promo_codes, created = excluded.created`),
			organiser, np.Code, np.Name, nonNil(np.Groups), nonNil(np.Events), nonNil(np.PromoCodes), np.Created)
		var before []string
		if old != nil {
			before = aggGroups(oldGroups)
		}
		batch.Queue(s.sql(`select tracklink.move_member($1, $2, $3, $4)`), organiser, np.Code, nonNil(before), aggGroups(np.Groups))
		return tx.SendBatch(ctx, batch).Close()
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const promoterCols = `code, name, groups, events, promo_codes, created`

func scanPromoter(row pgx.Row) (tracklink.Promoter, error) {
	var p tracklink.Promoter
	err := row.Scan(&p.Code, &p.Name, &p.Groups, &p.Events, &p.PromoCodes, &p.Created)
	if len(p.Groups) == 0 {
		p.Groups = nil
	}
	if len(p.Events) == 0 {
		p.Events = nil
	}
	if len(p.PromoCodes) == 0 {
		p.PromoCodes = nil
	}
	return p, err
}

// Promoter returns the promoter with code (case-insensitive); ok is false
// when there is none or code is not a valid code.
func (s *Store) Promoter(ctx context.Context, code string) (tracklink.Promoter, bool, error) {
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return tracklink.Promoter{}, false, nil
	}
	p, err := scanPromoter(s.pool.QueryRow(ctx, s.sql(`select `+promoterCols+` from tracklink.promoters where organiser = $1 and code = $2`), organiser, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return tracklink.Promoter{}, false, nil
	}
	if err != nil {
		return tracklink.Promoter{}, false, wrap("promoter", err)
	}
	return p, true, nil
}

// Promoters returns every promoter, ordered by code.
func (s *Store) Promoters(ctx context.Context) ([]tracklink.Promoter, error) {
	rows, err := s.pool.Query(ctx, s.sql(`select `+promoterCols+` from tracklink.promoters where organiser = $1 order by code`), organiser)
	if err != nil {
		return nil, wrap("promoters", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracklink.Promoter, error) { return scanPromoter(r) })
	if err != nil {
		return nil, wrap("promoters", err)
	}
	return ps, nil
}

// PromoterByPromoCode returns the code of the promoter owning the checkout
// promo code (tracklink.NormalizePromoCode).
func (s *Store) PromoterByPromoCode(ctx context.Context, promo string) (string, bool, error) {
	promo, ok := tracklink.NormalizePromoCode(promo)
	if !ok {
		return "", false, nil
	}
	var code string
	err := s.pool.QueryRow(ctx, s.sql(`select code from tracklink.promo_codes where organiser = $1 and promo_code = $2`), organiser, promo).Scan(&code)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap("promoter by promo code", err)
	}
	return code, true, nil
}

// DeletePromoter permanently removes the promoter with code, in one
// transaction: its registry row, promo codes and place in the group sums;
// every event figure counted under its key ("promoter|<code>", visits and
// sales, every day and all time) folded into tracklink.DeletedKey, so that
// event totals stay right; its own figures; and its code on stored orders
// (Touch.Promoter and Touch.Source become tracklink.DeletedPromoter,
// Touch.Evidence "deleted promoter"; the promoter and source columns too;
// an overruled touch of the code likewise, tracklink.Attribution.ForgetPromoter).
// A later refund of such an order is taken off the deleted bucket. Live
// sessions' touches are the session store's: a later landing or order from
// one credits the code afresh. Deleting an unknown code is not an error;
// an invalid one wraps ErrInvalid.
func (s *Store) DeletePromoter(ctx context.Context, code string) error {
	code, ok := tracklink.NormalizePromoter(code)
	if !ok {
		return invalidf("delete promoter", "promoter code %q is not [A-Za-z0-9_-]{1,64}", clip(code))
	}
	key := string(tracklink.ChannelPromoter) + "|" + code
	del := tracklink.DeletedKey
	return s.tx(ctx, "delete promoter", func(tx pgx.Tx) error {
		if err := lockRegistry(ctx, tx); err != nil {
			return err
		}
		if err := lockPromoter(ctx, tx, code); err != nil {
			return err
		}
		var groups []string
		err := tx.QueryRow(ctx, s.sql(`select groups from tracklink.promoters where organiser = $1 and code = $2`), organiser, code).Scan(&groups)
		registered := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		b := &pgx.Batch{}
		if registered {
			b.Queue(s.sql(`delete from tracklink.promo_codes where organiser = $1 and code = $2`), organiser, code)
			b.Queue(s.sql(`select tracklink.move_member($1, $2, $3, '{}')`), organiser, code, aggGroups(groups))
			b.Queue(s.sql(`delete from tracklink.promoters where organiser = $1 and code = $2`), organiser, code)
		}
		for _, t := range []struct{ table, cols string }{
			{"event_days", "organiser, event, day, source_key, currency, shard"},
			{"event_totals", "organiser, event, source_key, currency, shard"},
		} {
			sel := strings.Replace(t.cols, "source_key", "$3", 1)
			b.Queue(s.sql(fmt.Sprintf(`insert into tracklink.%[1]s as f (%[2]s, visits, orders, tickets, excluded, revenue)
				select %[3]s, visits, orders, tickets, excluded, revenue from tracklink.%[1]s
				where organiser = $1 and source_key = $2
				on conflict (%[2]s) do update set
					visits = f.visits + excluded.visits, orders = f.orders + excluded.orders,
					tickets = f.tickets + excluded.tickets, excluded = f.excluded + excluded.excluded,
					revenue = f.revenue + excluded.revenue`, t.table, t.cols, sel)), organiser, key, del)
			b.Queue(s.sql(`delete from tracklink.`+t.table+` where organiser = $1 and source_key = $2`), organiser, key)
		}
		b.Queue(s.sql(`insert into tracklink.event_keys (organiser, event, side, source_key)
			select organiser, event, side, $3 from tracklink.event_keys where organiser = $1 and source_key = $2
			on conflict do nothing`), organiser, key, del)
		b.Queue(s.sql(`delete from tracklink.event_keys where organiser = $1 and source_key = $2`), organiser, key)
		for _, table := range []string{"promoter_totals", "promoter_events", "promoter_days"} {
			b.Queue(s.sql(`delete from tracklink.`+table+` where organiser = $1 and code = $2`), organiser, code)
		}
		b.Queue(s.sql(`update tracklink.orders set promoter = '', source = $3,
				source_key = case when source_key = $4 then $5 else source_key end,
				attribution = jsonb_set(jsonb_set(jsonb_set(attribution,
					'{touch,promoter}', to_jsonb($3::text)), '{touch,source}', to_jsonb($3::text)),
					'{touch,evidence}', '"deleted promoter"')
			where organiser = $1 and channel = 'promoter' and (promoter = $2 or source = $2)`),
			organiser, code, tracklink.DeletedPromoter, key, del)
		// what a promo code overruled, or an explicit touch won over, may
		// name the code too (tracklink.Attribution.ForgetPromoter); no index
		// covers it, so this reads the organiser's orders once
		b.Queue(s.sql(`update tracklink.orders set
				attribution = jsonb_set(jsonb_set(jsonb_set(attribution,
					'{overruled,touch,promoter}', to_jsonb($3::text)), '{overruled,touch,source}', to_jsonb($3::text)),
					'{overruled,touch,evidence}', '"deleted promoter"')
			where organiser = $1 and attribution #>> '{overruled,touch,channel}' = 'promoter'
				and (attribution #>> '{overruled,touch,promoter}' = $2 or attribution #>> '{overruled,touch,source}' = $2)`),
			organiser, code, tracklink.DeletedPromoter)
		return tx.SendBatch(ctx, b).Close()
	})
}

// Groups returns the group names, sorted.
func (s *Store) Groups(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, s.sql(`select name from tracklink.groups where organiser = $1 order by name`), organiser)
	if err != nil {
		return nil, wrap("groups", err)
	}
	gs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("groups", err)
	}
	return gs, nil
}

// SaveGroup creates a group (tracklink.NormalizeGroup, else ErrInvalid);
// saving an existing group is not an error.
func (s *Store) SaveGroup(ctx context.Context, name string) error {
	g, ok := tracklink.NormalizeGroup(name)
	if !ok {
		return invalidf("save group", "group name %q is not 1 to %d bytes of text", clip(name), tracklink.MaxGroupLen)
	}
	_, err := s.pool.Exec(ctx, s.sql(`insert into tracklink.groups (organiser, name) values ($1, $2) on conflict do nothing`), organiser, g)
	if err != nil {
		return wrap("save group", err)
	}
	return nil
}

// RenameGroup renames group from to to, in the registry and on every
// promoter in it (moving their figures between the group sums), in one
// transaction. Renaming onto an existing group merges the two; renaming a
// group nobody has does nothing.
func (s *Store) RenameGroup(ctx context.Context, from, to string) error {
	to, ok := tracklink.NormalizeGroup(to)
	if !ok {
		return invalidf("rename group", "group name %q is not 1 to %d bytes of text", clip(to), tracklink.MaxGroupLen)
	}
	from = strings.TrimSpace(from)
	if from == to {
		return nil
	}
	return s.editGroup(ctx, "rename group", from, func(groups []string) []string {
		groups = slices.Clone(groups)
		for i, g := range groups {
			if g == from {
				groups[i] = to
			}
		}
		slices.Sort(groups)
		return slices.Compact(groups)
	}, to)
}

// DeleteGroup removes a group from the registry and from every promoter,
// in one transaction.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	return s.editGroup(ctx, "delete group", name, func(groups []string) []string {
		return slices.DeleteFunc(slices.Clone(groups), func(g string) bool { return g == name })
	}, "")
}

// editGroup removes group from the registry, rewrites the groups of every
// promoter in it with edit, and, when to is not "" and the group existed
// or had members, adds to.
func (s *Store) editGroup(ctx context.Context, op, group string, edit func([]string) []string, to string) error {
	return s.tx(ctx, op, func(tx pgx.Tx) error {
		if err := lockRegistry(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.sql(`delete from tracklink.groups where organiser = $1 and name = $2`), organiser, group)
		if err != nil {
			return err
		}
		found := tag.RowsAffected() > 0
		rows, err := tx.Query(ctx, s.sql(`select code, groups from tracklink.promoters
			where organiser = $1 and $2 = any(groups) order by code`), organiser, group)
		if err != nil {
			return err
		}
		type member struct {
			code   string
			groups []string
		}
		members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (member, error) {
			var m member
			return m, r.Scan(&m.code, &m.groups)
		})
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := lockPromoter(ctx, tx, m.code); err != nil {
				return err
			}
			ng := edit(m.groups)
			if _, err := tx.Exec(ctx, s.sql(`update tracklink.promoters set groups = $3 where organiser = $1 and code = $2`),
				organiser, m.code, nonNil(ng)); err != nil {
				return err
			}
			if err := s.moveMember(ctx, tx, m.code, aggGroups(m.groups), aggGroups(ng)); err != nil {
				return err
			}
		}
		if to != "" && (found || len(members) > 0) {
			if _, err := tx.Exec(ctx, s.sql(`insert into tracklink.groups (organiser, name) values ($1, $2) on conflict do nothing`), organiser, to); err != nil {
				return err
			}
		}
		return nil
	})
}

// SaveLink creates or replaces the campaign link with l.ID, as
// tracklink.Link.Normalize makes it (else ErrInvalid). A zero Created is
// kept from the link being replaced, else set to Options.Now.
func (s *Store) SaveLink(ctx context.Context, l tracklink.Link) error {
	l, err := l.Normalize()
	if err != nil {
		return invalid("save link", err)
	}
	var created any = l.Created
	if l.Created.IsZero() {
		created = nil
	}
	_, err = s.pool.Exec(ctx, s.sql(`insert into tracklink.links as l
			(organiser, id, event, name, utm_source, utm_medium, utm_campaign, utm_content, utm_term, created)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::timestamptz, $11::timestamptz))
		on conflict (organiser, id) do update set event = excluded.event, name = excluded.name,
			utm_source = excluded.utm_source, utm_medium = excluded.utm_medium, utm_campaign = excluded.utm_campaign,
			utm_content = excluded.utm_content, utm_term = excluded.utm_term,
			created = coalesce($10::timestamptz, l.created)`),
		organiser, l.ID, l.Event, l.Name, l.UTM.Source, l.UTM.Medium, l.UTM.Campaign, l.UTM.Content, l.UTM.Term, created, s.opts.Now())
	if err != nil {
		return wrap("save link", err)
	}
	return nil
}

const linkCols = `id, event, name, utm_source, utm_medium, utm_campaign, utm_content, utm_term, created`

func scanLink(row pgx.Row) (tracklink.Link, error) {
	var l tracklink.Link
	err := row.Scan(&l.ID, &l.Event, &l.Name, &l.UTM.Source, &l.UTM.Medium, &l.UTM.Campaign, &l.UTM.Content, &l.UTM.Term, &l.Created)
	return l, err
}

// Link returns the campaign link with id.
func (s *Store) Link(ctx context.Context, id string) (tracklink.Link, bool, error) {
	if !tracklink.ValidLinkID(id) {
		return tracklink.Link{}, false, nil
	}
	l, err := scanLink(s.pool.QueryRow(ctx, s.sql(`select `+linkCols+` from tracklink.links where organiser = $1 and id = $2`), organiser, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return tracklink.Link{}, false, nil
	}
	if err != nil {
		return tracklink.Link{}, false, wrap("link", err)
	}
	return l, true, nil
}

// Links returns the campaign links of event ("" for all), oldest first (by
// Created, then ID).
func (s *Store) Links(ctx context.Context, event string) ([]tracklink.Link, error) {
	q, args := `select `+linkCols+` from tracklink.links where organiser = $1 order by created, id`, []any{organiser}
	if event != "" {
		q, args = `select `+linkCols+` from tracklink.links where organiser = $1 and event = $2 order by created, id`, []any{organiser, event}
	}
	rows, err := s.pool.Query(ctx, s.sql(q), args...)
	if err != nil {
		return nil, wrap("links", err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tracklink.Link, error) { return scanLink(r) })
	if err != nil {
		return nil, wrap("links", err)
	}
	return ls, nil
}

// DeleteLink removes a campaign link; its figures stay with its
// utm_source. Deleting a missing link is not an error.
func (s *Store) DeleteLink(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, s.sql(`delete from tracklink.links where organiser = $1 and id = $2`), organiser, id); err != nil {
		return wrap("delete link", err)
	}
	return nil
}
