package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/tracklink/tracklink"
)

// The demo data: promoters in groups, campaign links, and days of visits
// and sales. Everything goes through the public API, the way real traffic
// would: each visit is a landing classified by tracklink.Classifier and
// stamped with Store.Stamp; each sale is attributed with
// tracklink.Attribute from the session's touches and recorded with
// Store.Record; a few are refunded with Store.Refund.

type seedPromoter struct {
	Code, Name string
	Groups     []string
	Events     []string
	Promo      string
	Weight     int // share of the promoter traffic
}

var seedPromoters = []seedPromoter{
	{"ana", "Ana Lopes", []string{"street-team", "students"}, []string{"summer-fest", "jazz-night"}, "ANA10", 5},
	{"ben", "Ben Carter", []string{"street-team"}, []string{"summer-fest", "winter-gala"}, "BEN10", 3},
	{"chloe", "Chloé Martin", []string{"influencers"}, []string{"summer-fest", "jazz-night", "winter-gala"}, "CHLOE", 6},
	{"dev", "Dev Patel", []string{"students"}, []string{"winter-gala", "summer-fest"}, "", 2},
	{"emma", "Emma Schulz", []string{"influencers", "street-team"}, []string{"jazz-night"}, "EMMA15", 5},
}

type seedLink struct {
	Event, Name, Source, Medium, Campaign string
}

var seedLinks = []seedLink{
	{"summer-fest", "Instagram ads – launch", "instagram", "paid_social", "summer-launch"},
	{"summer-fest", "Newsletter – June", "newsletter", "email", "june-newsletter"},
	{"summer-fest", "CityMag article", "citymag", "press", "festival-guide"},
	{"jazz-night", "Jazz FM spot", "jazzfm", "radio", "autumn-jazz"},
	{"jazz-night", "Newsletter – jazz club", "newsletter", "email", "jazz-club"},
	{"winter-gala", "Facebook ads – gala", "facebook", "paid_social", "gala-2026"},
	{"winter-gala", "Opera friends mailing", "operafriends", "email", "friends-presale"},
}

// landing is one kind of arrival, as a browser would make it.
type landing struct {
	weight    int
	query     string // raw query; "%p" is replaced by a promoter code
	referer   string
	secFetch  string
	userAgent string
	convert   float64 // chance that the visit buys
}

const seedUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

func seedLandings(host string) []landing {
	return []landing{
		{weight: 18, query: "promoter=%p", referer: "https://l.instagram.com/", secFetch: "cross-site", convert: 0.14},
		{weight: 8, query: "promoter=%p", secFetch: "none", convert: 0.12},
		{weight: 14, query: "%c", secFetch: "cross-site", convert: 0.11},
		{weight: 12, referer: "https://" + host + "/", secFetch: "same-origin", convert: 0.06},
		{weight: 14, referer: "https://l.instagram.com/", secFetch: "cross-site", convert: 0.04},
		{weight: 6, userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 330.0.0.30.91", convert: 0.03},
		{weight: 8, referer: "https://m.facebook.com/", secFetch: "cross-site", convert: 0.03},
		{weight: 3, query: "fbclid=IwAR0demo", secFetch: "cross-site", convert: 0.04},
		{weight: 10, referer: "https://www.google.com/", secFetch: "cross-site", convert: 0.05},
		{weight: 2, query: "gclid=Cj0demo", secFetch: "cross-site", convert: 0.06},
		{weight: 5, referer: "https://linktr.ee/", secFetch: "cross-site", convert: 0.05},
		{weight: 2, referer: "https://www.tiktok.com/", secFetch: "cross-site", convert: 0.02},
		{weight: 2, referer: "https://www.residentadvisor.net/events", secFetch: "cross-site", convert: 0.05},
		{weight: 9, secFetch: "none", convert: 0.05},
		{weight: 4, secFetch: "cross-site", convert: 0.02},
	}
}

// seed registers the demo's promoters, groups and links (unless the store
// already has promoters, e.g. a Redis seeded by an earlier run) and
// generates days of history.
func (a *App) seed(ctx context.Context, days int) error {
	existing, err := a.store.Promoters(ctx)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		a.log.Info("store already has promoters; not seeding again")
		return nil
	}
	for _, g := range []string{"influencers", "street-team", "students"} {
		if err := a.store.SaveGroup(ctx, g); err != nil {
			return err
		}
	}
	for _, p := range seedPromoters {
		var promos []string
		if p.Promo != "" {
			promos = []string{p.Promo}
		}
		_, err := a.reporter.SavePromoter(ctx, tracklink.Promoter{Code: p.Code, Name: p.Name,
			Groups: append([]string(nil), p.Groups...), Events: p.Events, PromoCodes: promos,
			Created: a.opts.Now().AddDate(0, 0, -days-1).UTC()})
		if err != nil {
			return fmt.Errorf("promoter %s: %w", p.Code, err)
		}
	}
	for _, l := range seedLinks {
		_, err := a.reporter.CreateLink(ctx, tracklink.Link{
			ID: l.Event + "-" + l.Source, Event: l.Event, Name: l.Name,
			UTM:     tracklink.UTM{Source: l.Source, Medium: l.Medium, Campaign: l.Campaign},
			Created: a.opts.Now().AddDate(0, 0, -days-1).UTC(),
		})
		if err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	if days <= 0 {
		return nil
	}
	return a.seedHistory(ctx, days)
}

func (a *App) seedHistory(ctx context.Context, days int) error {
	rng := rand.New(rand.NewPCG(2026, 7))
	u, _ := url.Parse(a.opts.BaseURL)
	classifier := &tracklink.Classifier{}
	lands := seedLandings(u.Hostname())
	now := a.opts.Now().UTC()
	// Popularity per event, per weekday rhythm, growing towards today.
	popularity := map[string]int{"summer-fest": 46, "jazz-night": 20, "winter-gala": 26}
	orderN := 0
	for d := days - 1; d >= 0; d-- {
		dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -d)
		for _, e := range a.events {
			growth := 0.45 + 0.55*float64(days-d)/float64(days)
			if wd := dayStart.Weekday(); wd == time.Friday || wd == time.Saturday {
				growth *= 1.35
			}
			n := int(float64(popularity[e.Slug]) * growth * (0.8 + 0.4*rng.Float64()))
			for range n {
				at := dayStart.Add(time.Duration(8*3600+rng.IntN(15*3600)) * time.Second)
				if at.After(now) {
					at = now.Add(-time.Duration(rng.IntN(3600)) * time.Second)
					if at.Before(dayStart) {
						at = dayStart
					}
				}
				l := pick(rng, lands)
				q, ok := a.seedQuery(rng, l.query, e.Slug)
				if !ok {
					continue
				}
				ua := l.userAgent
				if ua == "" {
					ua = seedUA
				}
				touch, _ := classifier.Classify(tracklink.Landing{
					Host: u.Host, Path: "/events/" + e.Slug, RawQuery: q, Referer: l.referer,
					UserAgent: ua, SecFetchSite: l.secFetch, Event: e.Slug, At: at,
				})
				session := randomID(16)
				if _, err := a.store.Stamp(ctx, tracklink.Stamp{Session: session, Touch: touch, TTL: 24 * time.Hour}); err != nil {
					return err
				}
				if rng.Float64() >= l.convert {
					continue
				}
				orderN++
				if err := a.seedOrder(ctx, rng, e, session, fmt.Sprintf("ord_seed_%05d", orderN), at, now, true); err != nil {
					return err
				}
			}
		}
		// A promo code sale now and then: a buyer who came back by typing
		// the address (a direct touch) enters a promoter's code at
		// checkout, which outranks the touch (tracklink.PromoCodeFirst).
		if rng.IntN(3) == 0 {
			e := a.events[rng.IntN(len(a.events))]
			orderN++
			at := dayStart.Add(time.Duration(10+rng.IntN(10)) * time.Hour)
			if at.After(now) {
				at = now
			}
			promo := "ANA10"
			if rng.IntN(2) == 0 {
				promo = "CHLOE"
			}
			touch, _ := classifier.Classify(tracklink.Landing{
				Host: u.Host, Path: "/events/" + e.Slug, UserAgent: seedUA, SecFetchSite: "none", Event: e.Slug, At: at.Add(-5 * time.Minute),
			})
			session := randomID(16)
			if _, err := a.store.Stamp(ctx, tracklink.Stamp{Session: session, Touch: touch, TTL: 24 * time.Hour}); err != nil {
				return err
			}
			o := tracklink.Order{ID: fmt.Sprintf("ord_seed_%05d", orderN), Session: session, Event: e.Slug, Currency: e.Currency,
				PromoCode: promo, At: at, Lines: []tracklink.Line{{Kind: tracklink.LinePrimary, TicketType: e.Tickets[0].Code,
					Quantity: 1 + rng.IntN(3), UnitAmount: e.Tickets[0].Price * 9 / 10}}}
			evTouch, siteTouch, err := a.store.Touches(ctx, session, e.Slug)
			if err != nil {
				return err
			}
			owner, _, err := a.store.PromoterByPromoCode(ctx, promo)
			if err != nil {
				return err
			}
			if err := a.record(ctx, tracklink.Attribute(o, evTouch, siteTouch, tracklink.AttributeOptions{PromoCodeOwner: owner})); err != nil {
				return err
			}
		}
	}
	// Every promoter sold something today, so each detail panel has a
	// point on the chart whatever the dice said.
	for _, p := range seedPromoters {
		e := a.bySlug[p.Events[0]]
		at := now.Add(-time.Duration(30+rng.IntN(120)) * time.Minute)
		touch, _ := classifier.Classify(tracklink.Landing{
			Host: u.Host, Path: "/events/" + e.Slug, RawQuery: "promoter=" + p.Code, Referer: "https://l.instagram.com/",
			UserAgent: seedUA, SecFetchSite: "cross-site", Event: e.Slug, At: at,
		})
		session := randomID(16)
		if _, err := a.store.Stamp(ctx, tracklink.Stamp{Session: session, Touch: touch, TTL: 24 * time.Hour}); err != nil {
			return err
		}
		orderN++
		if err := a.seedOrder(ctx, rng, e, session, fmt.Sprintf("ord_seed_%05d", orderN), at, now, false); err != nil {
			return err
		}
	}
	return nil
}

// seedQuery fills a landing's query: a promoter of the event, or one of
// the event's campaign links. ok is false when the event has none.
func (a *App) seedQuery(rng *rand.Rand, q, event string) (string, bool) {
	switch q {
	case "promoter=%p":
		var codes []string
		for _, p := range seedPromoters {
			for _, e := range p.Events {
				if e == event {
					for range p.Weight {
						codes = append(codes, p.Code)
					}
				}
			}
		}
		if len(codes) == 0 {
			return "", false
		}
		return "promoter=" + codes[rng.IntN(len(codes))], true
	case "%c":
		var links []seedLink
		for _, l := range seedLinks {
			if l.Event == event {
				links = append(links, l)
			}
		}
		if len(links) == 0 {
			return "", false
		}
		l := links[rng.IntN(len(links))]
		v := url.Values{"utm_source": {l.Source}, "utm_medium": {l.Medium}, "utm_campaign": {l.Campaign}}
		return v.Encode(), true
	}
	return q, true
}

// seedOrder buys tickets for a session that just landed, as the webhook
// receiver would attribute it.
func (a *App) seedOrder(ctx context.Context, rng *rand.Rand, e Event, session, id string, landed, now time.Time, refundable bool) error {
	at := landed.Add(time.Duration(2+rng.IntN(40)) * time.Minute)
	if at.After(now) {
		at = now
	}
	t := e.Tickets[0]
	if rng.IntN(4) == 0 {
		t = e.Tickets[1]
	}
	lines := []tracklink.Line{{Kind: tracklink.LinePrimary, TicketType: t.Code, Quantity: 1 + rng.IntN(4), UnitAmount: t.Price}}
	if rng.IntN(12) == 0 { // a resale ticket in the basket: recorded, not counted
		lines = append(lines, tracklink.Line{Kind: tracklink.LineResale, TicketType: t.Code, Quantity: 1, UnitAmount: t.Resale})
	}
	o := tracklink.Order{ID: id, Session: session, Event: e.Slug, Currency: e.Currency, Lines: lines, At: at}
	evTouch, siteTouch, err := a.store.Touches(ctx, session, e.Slug)
	if err != nil {
		return err
	}
	if err := a.record(ctx, tracklink.Attribute(o, evTouch, siteTouch, tracklink.AttributeOptions{})); err != nil {
		return err
	}
	if refundable && rng.IntN(40) == 0 {
		rec, _, err := a.store.Refund(ctx, id, at.Add(time.Hour))
		if err != nil {
			return err
		}
		return a.ack(ctx, id, rec.Pending)
	}
	return nil
}

func (a *App) record(ctx context.Context, at tracklink.Attribution) error {
	rec, err := a.store.Record(ctx, at)
	if err != nil {
		return err
	}
	return a.ack(ctx, at.OrderID, rec.Pending)
}

// ack clears the outbox: seeded orders have no hooks to run.
func (a *App) ack(ctx context.Context, id string, pending []tracklink.HookKind) error {
	for _, k := range pending {
		if err := a.store.Ack(ctx, id, k); err != nil {
			return err
		}
	}
	return nil
}

func pick(rng *rand.Rand, ls []landing) landing {
	total := 0
	for _, l := range ls {
		total += l.weight
	}
	n := rng.IntN(total)
	for _, l := range ls {
		if n < l.weight {
			return l
		}
		n -= l.weight
	}
	return ls[len(ls)-1]
}
