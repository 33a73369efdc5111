package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/redisstore"
	"github.com/tracklink/tracklink/internal/pgtest"
	"github.com/tracklink/tracklink/internal/redisstoretest"
	"github.com/tracklink/tracklink/internal/redistest"
	"github.com/tracklink/tracklink/report"
)

type fullStore interface {
	tracklink.Store
	tracklink.ReportStore
}

var day0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func sess(i int) string { return fmt.Sprintf("s%021d", i) }

// fixture builds two events, three promoters in two groups, two campaign
// links, visits from several sources, sales, a resale and a refund.
func fixture(t *testing.T, s fullStore) *report.Reporter {
	t.Helper()
	ctx := context.Background()
	rp, err := report.New(report.Config{Store: s, BaseURL: "https://tickets.example", Now: func() time.Time { return day0.AddDate(0, 0, 2) }})
	require.NoError(t, err)
	for _, p := range []tracklink.Promoter{
		{Code: "ana", Name: "Ana Pérez", Groups: []string{"street team"}, Events: []string{"summer-fest", "winter-gala"}, PromoCodes: []string{"ANA10"}},
		{Code: "bob", Name: "Bob Stone", Groups: []string{"street team", "vip"}, Events: []string{"summer-fest"}},
		{Code: "cleo", Name: "=Cleo Marks", Groups: []string{"vip"}, Events: []string{"winter-gala"}},
	} {
		_, err := rp.SavePromoter(ctx, p)
		require.NoError(t, err)
	}
	_, err = rp.CreateLink(ctx, tracklink.Link{ID: "news", Event: "summer-fest", Name: "Newsletter", UTM: tracklink.UTM{Source: "Newsletter", Medium: "email"}})
	require.NoError(t, err)
	_, err = rp.CreateLink(ctx, tracklink.Link{ID: "igad", Event: "summer-fest", Name: "Instagram ad", UTM: tracklink.UTM{Source: "ig", Medium: "paid", Campaign: "launch"}})
	require.NoError(t, err)

	stamp := func(i int, at time.Time, tc tracklink.Touch) {
		tc.At = at
		_, err := s.Stamp(ctx, tracklink.Stamp{Session: sess(i), Touch: tc, TTL: time.Hour * 48})
		require.NoError(t, err)
	}
	promoter := func(code, ev string) tracklink.Touch {
		return tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: code, Promoter: code, Event: ev, Evidence: "param promoter=" + code}
	}
	campaign := func(src, ev string) tracklink.Touch {
		return tracklink.Touch{Channel: tracklink.ChannelCampaign, Source: src, UTM: tracklink.UTM{Source: src, Medium: "email"}, Event: ev, Evidence: "param utm_source=" + src}
	}
	named := func(ch tracklink.Channel, src, ev string) tracklink.Touch {
		return tracklink.Touch{Channel: ch, Source: src, Event: ev, Evidence: "referrer " + src}
	}
	// summer-fest visits: ana 4, bob 2, newsletter 3, instagram 2, direct 1 (day 0), ana 1 more on day 1.
	n := 0
	for range 4 {
		n++
		stamp(n, day0, promoter("ana", "summer-fest"))
	}
	for range 2 {
		n++
		stamp(n, day0, promoter("bob", "summer-fest"))
	}
	for range 3 {
		n++
		stamp(n, day0, campaign("newsletter", "summer-fest"))
	}
	for range 2 {
		n++
		stamp(n, day0, named(tracklink.ChannelSocial, "instagram", "summer-fest"))
	}
	n++
	stamp(n, day0, named(tracklink.ChannelDirect, "direct", "summer-fest"))
	stamp(1, day0.AddDate(0, 0, 1), promoter("ana", "summer-fest")) // same session, next day: counts again
	// winter-gala: cleo 2 visits.
	stamp(100, day0, promoter("cleo", "winter-gala"))
	stamp(101, day0, promoter("cleo", "winter-gala"))

	order := func(id, ev string, at time.Time, tc tracklink.Touch, rule tracklink.Rule, tickets int, revenue int64, excluded int) {
		tc.At = at.Add(-time.Hour)
		a := tracklink.Attribution{OrderID: id, Event: ev, Currency: "EUR", Tickets: tickets, Revenue: revenue, Excluded: excluded, Touch: tc, Rule: rule, At: at, TouchAge: time.Hour}
		_, err := s.Record(ctx, a)
		require.NoError(t, err)
	}
	order("o1", "summer-fest", day0, promoter("ana", "summer-fest"), tracklink.RuleEventTouch, 2, 5000, 0)
	order("o2", "summer-fest", day0.AddDate(0, 0, 1), promoter("ana", "summer-fest"), tracklink.RuleEventTouch, 1, 2500, 1) // plus one resold ticket
	order("o3", "summer-fest", day0, promoter("bob", "summer-fest"), tracklink.RuleEventTouch, 4, 10000, 0)
	order("o4", "summer-fest", day0, campaign("newsletter", "summer-fest"), tracklink.RuleEventTouch, 1, 2500, 0)
	order("o5", "summer-fest", day0, tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Evidence: "no touch"}, tracklink.RuleNoTouch, 3, 7500, 0)
	order("o6", "winter-gala", day0.AddDate(0, 0, 1), promoter("cleo", "winter-gala"), tracklink.RuleEventTouch, 2, 8000, 0)
	order("o7", "summer-fest", day0, promoter("bob", "summer-fest"), tracklink.RuleEventTouch, 5, 12500, 0)
	_, ok, err := s.Refund(ctx, "o7", day0.AddDate(0, 0, 1))
	require.NoError(t, err)
	require.True(t, ok)
	return rp
}

func stores(t *testing.T) map[string]func(t *testing.T) fullStore {
	return map[string]func(t *testing.T) fullStore{
		"memstore": func(t *testing.T) fullStore { return memstore.New() },
		"redis": func(t *testing.T) fullStore {
			rdb, _ := redistest.Client(t)
			return redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb)})
		},
		"cluster": func(t *testing.T) fullStore {
			rdb := redistest.Cluster(t)
			return redisstoretest.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb)})
		},
		// the ledger on PostgreSQL behind memstore sessions
		"postgres": func(t *testing.T) fullStore { return pgtest.Composed(t) },
	}
}

func forEachStore(t *testing.T, f func(t *testing.T, s fullStore, rp *report.Reporter)) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			f(t, s, fixture(t, s))
		})
	}
}

func find(rows []report.SourceShare, key string) report.SourceShare {
	for _, r := range rows {
		if r.Key == key {
			return r
		}
	}
	return report.SourceShare{}
}

func TestEventTraffic(t *testing.T) {
	forEachStore(t, func(t *testing.T, s fullStore, rp *report.Reporter) {
		ctx := context.Background()
		tr, err := rp.EventTraffic(ctx, "summer-fest", "", "")
		require.NoError(t, err)
		assert.EqualValues(t, 13, tr.Total.Visits)
		assert.EqualValues(t, 5, tr.Total.Orders, "o7 was refunded")
		assert.EqualValues(t, 11, tr.Total.Tickets)
		assert.EqualValues(t, 1, tr.Total.Excluded)
		assert.Equal(t, map[string]int64{"EUR": 27500}, tr.Total.Revenue)

		ana := find(tr.Sources, "promoter|ana")
		assert.EqualValues(t, 5, ana.Visits)
		assert.EqualValues(t, 2, ana.Orders)
		assert.EqualValues(t, 3, ana.Tickets)
		assert.InDelta(t, 5*100.0/13, ana.Share, 0.001)
		assert.Equal(t, tracklink.ChannelPromoter, ana.Channel)
		assert.Equal(t, "ana", ana.Source)
		assert.Equal(t, "promoter|ana", tr.Sources[0].Key, "sorted by visits")

		news := find(tr.Sources, "campaign|newsletter")
		assert.EqualValues(t, 3, news.Visits)
		assert.Equal(t, "Newsletter", news.Label, "campaign links are labelled with their name")
		assert.EqualValues(t, 2, find(tr.Sources, "social|instagram").Visits)
		assert.EqualValues(t, 1, find(tr.Sources, "direct|direct").Visits)
		bob := find(tr.Sources, "promoter|bob")
		assert.EqualValues(t, 1, bob.Orders, "refunded o7 is reversed")
		assert.EqualValues(t, 4, bob.Tickets)

		var promoterCh report.SourceShare
		for _, c := range tr.Channels {
			if c.Channel == tracklink.ChannelPromoter {
				promoterCh = c
			}
		}
		assert.EqualValues(t, 7, promoterCh.Visits)

		day1, err := rp.EventTraffic(ctx, "summer-fest", "2026-11-02", "2026-11-02")
		require.NoError(t, err)
		assert.EqualValues(t, 1, day1.Total.Visits)
		assert.EqualValues(t, 1, find(day1.Sources, "promoter|ana").Orders)

		_, err = rp.EventTraffic(ctx, "Bad Slug", "", "")
		assert.ErrorIs(t, err, report.ErrInvalid)
	})
}

func TestCampaignLinks(t *testing.T) {
	forEachStore(t, func(t *testing.T, s fullStore, rp *report.Reporter) {
		rows, err := rp.CampaignLinks(context.Background(), "summer-fest")
		require.NoError(t, err)
		require.Len(t, rows, 2)
		byID := map[string]report.LinkRow{}
		for _, r := range rows {
			byID[r.ID] = r
		}
		news := byID["news"]
		assert.Equal(t, "newsletter", news.UTM.Source, "utm_source normalised")
		assert.EqualValues(t, 3, news.Counts.Visits)
		assert.EqualValues(t, 1, news.Counts.Orders)
		assert.EqualValues(t, 1, news.Counts.Tickets)
		assert.Equal(t, map[string]int64{"EUR": 2500}, news.Counts.Revenue)
		assert.InDelta(t, 100.0/3, news.Conversion, 0.001)
		assert.Equal(t, "https://tickets.example/events/summer-fest?utm_medium=email&utm_source=newsletter", news.URL)
		assert.Equal(t, "https://tickets.example/t/news", news.ShortURL)
		ig := byID["igad"]
		assert.Equal(t, "instagram", ig.UTM.Source, "ig is Instagram")
		assert.Zero(t, ig.Counts.Visits)
		assert.Zero(t, ig.Conversion)

		_, err = rp.CreateLink(context.Background(), tracklink.Link{Event: "summer-fest", UTM: tracklink.UTM{Source: "NEWSLETTER"}})
		assert.ErrorIs(t, err, report.ErrInvalid, "one link per utm_source and event")
		_, err = rp.CreateLink(context.Background(), tracklink.Link{Event: "summer-fest"})
		assert.ErrorIs(t, err, report.ErrInvalid, "utm_source required")
	})
}

func TestPromotersSummarySearchAndGroups(t *testing.T) {
	forEachStore(t, func(t *testing.T, s fullStore, rp *report.Reporter) {
		ctx := context.Background()
		rows, sum, err := rp.Promoters(ctx, report.Query{})
		require.NoError(t, err)
		require.Len(t, rows, 3)
		assert.Equal(t, 3, sum.Promoters)
		assert.Equal(t, 3, sum.Active)
		assert.EqualValues(t, 9, sum.Totals.Tickets, "ana 3 + bob 4 + cleo 2")
		assert.EqualValues(t, 4, sum.Totals.Orders)
		assert.Equal(t, map[string]int64{"EUR": 25500}, sum.Totals.Revenue)
		assert.Equal(t, []string{"bob", "ana", "cleo"}, []string{rows[0].Code, rows[1].Code, rows[2].Code}, "by tickets")
		assert.Equal(t, 2, rows[1].ActiveEvents, "ana is on two events")

		rows, sum, err = rp.Promoters(ctx, report.Query{Group: "vip"})
		require.NoError(t, err)
		assert.Len(t, rows, 2)
		assert.EqualValues(t, 6, sum.Totals.Tickets, "bob 4 + cleo 2")

		for q, want := range map[string][]string{"AN": {"ana"}, "stone": {"bob"}, "ma": {"cleo"}, "zzz": nil, "o": {"bob", "cleo"}} {
			rows, _, err := rp.Promoters(ctx, report.Query{Search: q})
			require.NoError(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.Code)
			}
			assert.ElementsMatch(t, want, got, "search %q", q)
		}
		rows, _, err = rp.Promoters(ctx, report.Query{Search: "b", Group: "street team"})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Equal(t, "bob", rows[0].Code)

		require.NoError(t, s.RenameGroup(ctx, "vip", "VIP crew"))
		rows, _, err = rp.Promoters(ctx, report.Query{Group: "VIP crew"})
		require.NoError(t, err)
		assert.Len(t, rows, 2)
		require.NoError(t, s.DeleteGroup(ctx, "street team"))
		rows, _, err = rp.Promoters(ctx, report.Query{Group: "street team"})
		require.NoError(t, err)
		assert.Empty(t, rows)
	})
}

func TestPromoterDetail(t *testing.T) {
	forEachStore(t, func(t *testing.T, s fullStore, rp *report.Reporter) {
		d, err := rp.PromoterDetail(context.Background(), "ANA", "2026-10-31", "2026-11-03")
		require.NoError(t, err)
		assert.Equal(t, "Ana Pérez", d.Name)
		assert.EqualValues(t, 3, d.Counts.Tickets)
		assert.EqualValues(t, 2, d.Counts.Orders)
		assert.Equal(t, map[string]int64{"EUR": 7500}, d.Counts.Revenue)
		assert.Equal(t, 2, d.ActiveEvents)
		assert.Equal(t, "https://tickets.example/events/winter-gala?promoter=ana", d.Links["winter-gala"])
		require.Len(t, d.Series, 4, "zero-filled daily series")
		assert.Equal(t, "2026-10-31", d.Series[0].Day)
		assert.Zero(t, d.Series[0].Tickets)
		assert.EqualValues(t, 2, d.Series[1].Tickets)
		assert.EqualValues(t, 1, d.Series[2].Tickets)
		assert.Zero(t, d.Series[3].Tickets)

		_, err = rp.PromoterDetail(context.Background(), "nobody", "", "")
		assert.ErrorIs(t, err, report.ErrNotFound)
	})
}

func TestOrdersCSV(t *testing.T) {
	forEachStore(t, func(t *testing.T, s fullStore, rp *report.Reporter) {
		var buf bytes.Buffer
		require.NoError(t, rp.WriteOrdersCSV(context.Background(), &buf, ""))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 8, "header + 7 orders")
		assert.Equal(t, report.CSVHeader, recs[0])
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		byID := map[string][]string{}
		for _, r := range recs[1:] {
			byID[r[col["order_id"]]] = r
		}
		o1 := byID["o1"]
		assert.Equal(t, "ana", o1[col["utm_source"]])
		assert.Equal(t, "ana", o1[col["promoter_code"]])
		assert.Equal(t, "Ana Pérez", o1[col["promoter_name"]])
		assert.Equal(t, "50.00", o1[col["revenue"]])
		assert.Equal(t, "2026-11-01T12:00:00Z", o1[col["time"]])
		assert.Equal(t, "promoter", o1[col["channel"]])
		assert.Contains(t, o1[col["evidence"]], "param promoter=ana")
		assert.Equal(t, "newsletter", byID["o4"][col["utm_source"]])
		assert.Equal(t, "email", byID["o4"][col["utm_medium"]])
		assert.Equal(t, "direct", byID["o5"][col["utm_source"]])
		assert.Equal(t, "1", byID["o2"][col["excluded_tickets"]])
		assert.Equal(t, "true", byID["o7"][col["refunded"]])
		assert.Equal(t, byID["o7"][col["revenue"]], byID["o7"][col["gross_revenue"]])
		assert.Equal(t, byID["o7"][col["revenue"]], byID["o7"][col["refunded_revenue"]], "a full refund takes back all of it")
		assert.Equal(t, "0.00", byID["o7"][col["net_revenue"]])
		assert.Equal(t, "50.00", o1[col["net_revenue"]])
		assert.Equal(t, "0.00", o1[col["refunded_revenue"]])
		assert.Equal(t, "'=Cleo Marks", byID["o6"][col["promoter_name"]], "formula injection defused")

		buf.Reset()
		require.NoError(t, rp.WriteOrdersCSV(context.Background(), &buf, "winter-gala"))
		recs, err = csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		assert.Len(t, recs, 2)
	})
}

func TestCSVGolden(t *testing.T) {
	s := memstore.New()
	rp, err := report.New(report.Config{Store: s})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Record(ctx, tracklink.Attribution{OrderID: `ord,"1"`, Event: "summer-fest", Currency: "EUR", Tickets: 1, Revenue: 1999,
		Touch: tracklink.Touch{Channel: tracklink.ChannelCampaign, Source: "=cmd|' /C calc'!A0", UTM: tracklink.UTM{Source: "=cmd|' /C calc'!A0", Medium: "+1", Campaign: "line\nbreak"}, Evidence: "param utm_source=x"},
		Rule:  tracklink.RuleEventTouch, At: day0})
	require.NoError(t, err)
	// a partial refund of 4.99: gross stays, net drops
	_, err = s.PartialRefund(ctx, tracklink.Refund{OrderID: `ord,"1"`, RefundID: "re_1", Amount: 499, At: day0})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rp.WriteOrdersCSV(ctx, &buf, ""))
	want := "order_id,time,event,tickets,excluded_tickets,revenue,currency,channel,utm_source,utm_medium,utm_campaign,promoter_code,promoter_name,rule,evidence,refunded," +
		"gross_revenue,refunded_revenue,net_revenue,refunded_tickets\n" +
		`"ord,""1""",2026-11-01T12:00:00Z,summer-fest,1,0,19.99,EUR,campaign,'=cmd|' /C calc'!A0,'+1,"line` + "\n" + `break",,,event touch,event touch: param utm_source=x (0s before the order),false,` +
		"19.99,4.99,15.00,0\n"
	assert.Equal(t, want, buf.String())
}

func TestDeleteConfirmationAcrossInstances(t *testing.T) {
	s := memstore.New()
	key := []byte("0123456789abcdef0123456789abcdef")
	a, err := report.New(report.Config{Store: s, ConfirmKey: key})
	require.NoError(t, err)
	b, err := report.New(report.Config{Store: s, ConfirmKey: key})
	require.NoError(t, err)
	_, err = a.SavePromoter(context.Background(), tracklink.Promoter{Code: "ana", Name: "Ana"})
	require.NoError(t, err)
	token, err := a.DeletePromoter(context.Background(), "ana", "")
	require.ErrorIs(t, err, report.ErrConfirmRequired)
	_, err = b.DeletePromoter(context.Background(), "ana", token)
	require.NoError(t, err, "instance B honours instance A's token")
	_, err = report.New(report.Config{Store: s, ConfirmKey: []byte("short")})
	assert.Error(t, err)
}

func TestDeletePromoterNeedsConfirmation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s fullStore, rp *report.Reporter) {
		ctx := context.Background()
		token, err := rp.DeletePromoter(ctx, "ana", "")
		require.ErrorIs(t, err, report.ErrConfirmRequired)
		require.NotEmpty(t, token)
		_, ok, err := s.Promoter(ctx, "ana")
		require.NoError(t, err)
		require.True(t, ok, "the first call deletes nothing")

		_, err = rp.DeletePromoter(ctx, "ana", "forged.token")
		require.ErrorIs(t, err, report.ErrConfirmRequired)
		other, _ := rp.DeletePromoter(ctx, "bob", "")
		_, err = rp.DeletePromoter(ctx, "ana", other)
		require.ErrorIs(t, err, report.ErrConfirmRequired, "a token confirms one promoter only")

		_, err = rp.DeletePromoter(ctx, "ana", token)
		require.NoError(t, err)
		_, ok, err = s.Promoter(ctx, "ana")
		require.NoError(t, err)
		assert.False(t, ok)

		// The code appears nowhere any more; event totals are unchanged.
		tr, err := rp.EventTraffic(ctx, "summer-fest", "", "")
		require.NoError(t, err)
		assert.EqualValues(t, 13, tr.Total.Visits)
		assert.EqualValues(t, 11, tr.Total.Tickets)
		assert.Zero(t, find(tr.Sources, "promoter|ana").Visits)
		del := find(tr.Sources, "promoter|"+tracklink.DeletedPromoter)
		assert.EqualValues(t, 5, del.Visits)
		assert.Equal(t, "deleted promoter", del.Label)
		var buf bytes.Buffer
		require.NoError(t, rp.WriteOrdersCSV(ctx, &buf, ""))
		assert.NotContains(t, strings.ToLower(buf.String()), "ana")
		_, err = rp.PromoterDetail(ctx, "ana", "", "")
		assert.True(t, errors.Is(err, report.ErrNotFound))
	})
}
