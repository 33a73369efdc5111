package redisstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// TestDeletePromoterLeavesNoTrace deletes a promoter with visits, sales, a
// refund, a daily series, groups and a promo code, then reads every key
// under the store's prefix (SCAN, then each value by its type) and looks
// for the code anywhere, in key names and values. Live session hashes are
// the one exception the contract allows: they are not indexed by
// promoter and end with the session TTL, which the test checks instead.
func TestDeletePromoterLeavesNoTrace(t *testing.T) {
	ts := newTestStore(t, Options{})
	ctx := t.Context()
	const code = "zorro42" // distinctive: found nowhere else
	day := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := ts.SavePromoter(ctx, tracklink.Promoter{Code: code, Name: "Zorro Fortytwo", Groups: []string{"street"},
		Events: []string{"summer-fest", "jazz-night"}, PromoCodes: []string{"zorro42x"}}); err != nil {
		t.Fatal(err)
	}
	if err := ts.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", Groups: []string{"street"}}); err != nil {
		t.Fatal(err)
	}
	touch := func(ev string, at time.Time) tracklink.Touch {
		return tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: code, Promoter: code, Event: ev, At: at,
			UTM: tracklink.UTM{Source: "instagram"}, Evidence: "param promoter=" + code}
	}
	for i, ev := range []string{"summer-fest", "jazz-night", "summer-fest"} {
		at := day.AddDate(0, 0, i)
		sess := fmt.Sprintf("sess%018d", i)
		if _, err := ts.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch(ev, at), TTL: time.Second}); err != nil {
			t.Fatal(err)
		}
		a := tracklink.Attribution{OrderID: fmt.Sprintf("ord-%d", i), Event: ev, Session: sess, Currency: "EUR",
			Tickets: 2, Revenue: 5000, Touch: touch(ev, at), Rule: tracklink.RuleEventTouch, At: at.Add(time.Hour)}
		if _, err := ts.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ts.Refund(ctx, "ord-1", day.AddDate(0, 0, 5)); err != nil {
		t.Fatal(err)
	}
	before, err := ts.EventTraffic(ctx, "summer-fest", "", "")
	if err != nil {
		t.Fatal(err)
	}

	if err := ts.DeletePromoter(ctx, code); err != nil {
		t.Fatal(err)
	}
	ts.advance(1500 * time.Millisecond) // the sessions' TTL runs out

	found := scanFor(t, ts, strings.ToLower(code))
	if len(found) > 0 {
		t.Errorf("the deleted promoter's code is still in the store:\n%s", strings.Join(found, "\n"))
	}
	after, err := ts.EventTraffic(ctx, "summer-fest", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var b, a tracklink.Counts
	for _, r := range before {
		b.Add(r.Counts)
	}
	for _, r := range after {
		a.Add(r.Counts)
	}
	if b.Visits != a.Visits || b.Orders != a.Orders || b.Tickets != a.Tickets || b.Revenue["EUR"] != a.Revenue["EUR"] {
		t.Errorf("event totals changed by the deletion: before %+v, after %+v", b, a)
	}
}

// scanFor returns "key: where" for every key under the store's prefix whose
// name or value contains needle.
func scanFor(t *testing.T, ts testStore, needle string) []string {
	t.Helper()
	ctx := context.Background()
	var found []string
	iter := ts.rdb.Scan(ctx, 0, ts.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if strings.Contains(strings.ToLower(key), needle) {
			found = append(found, key+": in the key name")
			continue
		}
		var dump string
		switch typ := ts.rdb.Type(ctx, key).Val(); typ {
		case "string":
			dump = ts.rdb.Get(ctx, key).Val()
		case "hash":
			dump = fmt.Sprint(ts.rdb.HGetAll(ctx, key).Val())
		case "set":
			dump = fmt.Sprint(ts.rdb.SMembers(ctx, key).Val())
		case "zset":
			dump = fmt.Sprint(ts.rdb.ZRange(ctx, key, 0, -1).Val())
		case "list":
			dump = fmt.Sprint(ts.rdb.LRange(ctx, key, 0, -1).Val())
		default:
			t.Fatalf("%s: unexpected type %s", key, typ)
		}
		if strings.Contains(strings.ToLower(dump), needle) {
			found = append(found, key+": "+dump)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}
