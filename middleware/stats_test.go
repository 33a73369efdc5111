package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
)

// statsMap is s under its Prometheus names.
func statsMap(s middleware.Stats) map[string]int64 {
	m := map[string]int64{}
	s.Each(func(name string, v int64) { m[name] = v })
	return m
}

// diff is what changed from before to after, without zero entries.
func diff(before, after middleware.Stats) map[string]int64 {
	b, d := statsMap(before), map[string]int64{}
	for k, v := range statsMap(after) {
		if v != b[k] {
			d[k] = v - b[k]
		}
	}
	return d
}

// checkInvariant asserts the documented sums of a quiet middleware.
func checkInvariant(t *testing.T, s middleware.Stats) {
	t.Helper()
	assert.Equal(t, s.Requests, s.Skipped.Total()+s.Landings.Total(), "requests = skipped + landings: %+v", s)
}

// TestEveryRequestCountsOneOutcome: each path through the middleware
// counts the request and exactly one outcome.
func TestEveryRequestCountsOneOutcome(t *testing.T) {
	landingOutcome := func(o string) string { return `tracklink_landings_total{outcome="` + o + `"}` }
	skipped := func(r string) string { return `tracklink_skipped_total{reason="` + r + `"}` }
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	cases := []struct {
		name    string
		req     func() *http.Request
		store   func() *countingStore
		mut     func(*middleware.Config)
		outcome string
	}{
		{name: "asset", req: func() *http.Request { return landing("/static/app.css?promoter=ana") }, outcome: skipped("asset")},
		{name: "skip", req: func() *http.Request { return landing("/admin/events/summer-fest") },
			mut: func(c *middleware.Config) {
				c.Skip = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/admin/") }
			}, outcome: skipped("skip")},
		{name: "method", req: func() *http.Request {
			return httptest.NewRequest("POST", "http://"+siteHost+"/events/summer-fest?promoter=ana", nil)
		}, outcome: skipped("method")},
		{name: "prefetch", req: func() *http.Request { return landing("/events/summer-fest", "Sec-Purpose", "prefetch") }, outcome: skipped("prefetch")},
		{name: "not a document", req: func() *http.Request { return landing("/events/summer-fest", "Sec-Fetch-Dest", "empty") }, outcome: skipped("not_document")},
		{name: "browsing", req: func() *http.Request { return landing("/about", "Referer", "http://"+siteHost+"/") }, outcome: skipped("browsing")},
		{name: "bot", req: func() *http.Request { return landing("/events/summer-fest", "User-Agent", "curl/8.5.0") }, outcome: skipped("bot")},
		{name: "unknown event", req: func() *http.Request { return landing("/events/made-up") },
			mut: func(c *middleware.Config) {
				c.Events = func(_ context.Context, slug string) bool { return slug == "summer-fest" }
			}, outcome: skipped("unknown_event")},
		{name: "consent refused", req: func() *http.Request { return landing("/events/summer-fest?promoter=ana") },
			mut: func(c *middleware.Config) { c.Consent = func(*http.Request) bool { return false } }, outcome: landingOutcome("consent")},
		{name: "stamped", req: func() *http.Request { return landing("/events/summer-fest?promoter=ana") }, outcome: landingOutcome("stamped")},
		{name: "deadline", req: func() *http.Request { return landing("/events/summer-fest?promoter=ana") },
			store: func() *countingStore { cs := &countingStore{Store: memstore.New()}; cs.block.Store(true); return cs },
			mut:   func(c *middleware.Config) { c.StoreTimeout, c.QueueSize = time.Millisecond, -1 }, outcome: landingOutcome("deadline")},
		{name: "store error", req: func() *http.Request { return landing("/events/summer-fest?promoter=ana") },
			store:   func() *countingStore { cs := &countingStore{Store: memstore.New()}; cs.fail.Store(true); return cs },
			outcome: landingOutcome("store_error")},
		{name: "client went away", req: func() *http.Request { return landing("/events/summer-fest?promoter=ana").WithContext(canceled) },
			outcome: landingOutcome("canceled")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := &countingStore{Store: memstore.New()}
			if tc.store != nil {
				cs = tc.store()
			}
			var mut []func(*middleware.Config)
			if tc.mut != nil {
				mut = append(mut, tc.mut)
			}
			mw := newMW(t, cs, mut...)
			h := mw.Handler(page)
			before := mw.Stats()
			serve(h, tc.req())
			after := mw.Stats()
			assert.Equal(t, map[string]int64{"tracklink_requests_total": 1, tc.outcome: 1}, diff(before, after))
			checkInvariant(t, after)
		})
	}

	t.Run("breaker open", func(t *testing.T) {
		cs := &countingStore{Store: memstore.New()}
		cs.fail.Store(true)
		mw := newMW(t, cs, func(c *middleware.Config) { c.BreakerThreshold, c.BreakerCooldown, c.QueueSize = 1, time.Hour, -1 })
		h := mw.Handler(page)
		serve(h, landing("/events/summer-fest")) // opens the breaker
		before := mw.Stats()
		serve(h, landing("/events/summer-fest"))
		after := mw.Stats()
		assert.Equal(t, map[string]int64{"tracklink_requests_total": 1, landingOutcome("breaker_open"): 1}, diff(before, after))
		assert.EqualValues(t, 1, cs.stamps.Load(), "the open breaker kept the store out")
		checkInvariant(t, after)
	})
}

// TestStatsNamesAreUnique: every counter has its own Prometheus name, and
// Each reports each field once.
func TestStatsNamesAreUnique(t *testing.T) {
	var names []string
	middleware.Stats{}.Each(func(name string, _ int64) { names = append(names, name) })
	seen := map[string]bool{}
	for _, n := range names {
		assert.False(t, seen[n], "name %s twice", n)
		seen[n] = true
		assert.True(t, strings.HasPrefix(n, "tracklink_"), n)
	}
	// A Stats with every field set to a distinct value reports each.
	var s middleware.Stats
	n := int64(0)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.Struct {
				fill(f)
			} else {
				n++
				f.SetInt(n)
			}
		}
	}
	fill(reflect.ValueOf(&s).Elem())
	values := map[int64]bool{}
	s.Each(func(_ string, v int64) { values[v] = true })
	assert.EqualValues(t, n, len(values), "each field is reported")
	assert.Len(t, values, len(names), "each counter maps to a distinct field")
}
