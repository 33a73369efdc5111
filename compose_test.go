package tracklink_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/tracklinktest"
)

// TestComposeConformance runs the whole suite on a composition counting
// visits synchronously: sessions on one memstore, the ledger on another.
func TestComposeConformance(t *testing.T) {
	tracklinktest.TestStore(t, func(t *testing.T) tracklinktest.Harness {
		clock := tracklinktest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
		sessions := memstore.NewWithOptions(memstore.Options{Now: clock.Now})
		ledger := memstore.NewWithOptions(memstore.Options{Now: clock.Now})
		s := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{FlushInterval: -1, Now: clock.Now})
		return tracklinktest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now}
	})
}

var day = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ref(i int) string {
	return "sessionref" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "0000000000"
}

func landing(ch tracklink.Channel, source, event string) tracklink.Touch {
	t := tracklink.Touch{Channel: ch, Source: source, Event: event, At: day, Evidence: "test"}
	if ch == tracklink.ChannelPromoter {
		t.Promoter = source
	}
	return t
}

func stamp(t *testing.T, s *tracklink.Split, i int, touch tracklink.Touch) tracklink.StampResult {
	t.Helper()
	r, err := s.Stamp(t.Context(), tracklink.Stamp{Session: ref(i), Touch: touch, TTL: time.Hour})
	if err != nil {
		t.Fatalf("Stamp: %v", err)
	}
	return r
}

func visits(t *testing.T, l tracklink.Reports, event string) map[string]int64 {
	t.Helper()
	rows, err := l.EventTraffic(t.Context(), event, "", "")
	if err != nil {
		t.Fatalf("EventTraffic: %v", err)
	}
	m := map[string]int64{}
	for _, r := range rows {
		if r.Visits != 0 {
			m[r.Key] = r.Visits
		}
	}
	return m
}

// TestComposeBuffer: visits reach the ledger only when flushed, summed per
// (event, day, key, promoter), and the session store never counts them.
func TestComposeBuffer(t *testing.T) {
	sessions, ledger := memstore.New(), memstore.New()
	if err := ledger.SavePromoter(t.Context(), tracklink.Promoter{Code: "ana", Name: "Ana"}); err != nil {
		t.Fatal(err)
	}
	s := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{FlushInterval: time.Hour})
	defer s.Close(context.Background())
	for i := range 5 {
		if r := stamp(t, s, i, landing(tracklink.ChannelPromoter, "ana", "ev")); !r.Counted {
			t.Errorf("Stamp %d: Counted false", i)
		}
	}
	stamp(t, s, 0, landing(tracklink.ChannelPromoter, "ana", "ev")) // a reload: not counted
	stamp(t, s, 9, landing(tracklink.ChannelSocial, "instagram", ""))
	if got := visits(t, ledger, "ev"); len(got) != 0 {
		t.Errorf("ledger before Flush: %v, want nothing yet", got)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := visits(t, ledger, "ev"); got["promoter|ana"] != 5 || len(got) != 1 {
		t.Errorf("ledger after Flush: %v, want promoter|ana 5", got)
	}
	if got := visits(t, ledger, ""); got["social|instagram"] != 1 {
		t.Errorf("ledger site-wide after Flush: %v, want social|instagram 1", got)
	}
	ps, _ := ledger.PromoterStats(t.Context(), []string{"ana"})
	if ps[0].Totals.Visits != 5 {
		t.Errorf("ana's visits %d, want 5", ps[0].Totals.Visits)
	}
	if got := visits(t, sessions, "ev"); len(got) != 0 {
		t.Errorf("the session store counted visits: %v", got)
	}
	// Close flushes what is left
	stamp(t, s, 20, landing(tracklink.ChannelSearch, "google", "ev"))
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := visits(t, ledger, "ev"); got["search|google"] != 1 {
		t.Errorf("ledger after Close: %v, want search|google 1", got)
	}
	// after Close a visit is counted at once
	stamp(t, s, 21, landing(tracklink.ChannelSearch, "google", "ev"))
	if got := visits(t, ledger, "ev"); got["search|google"] != 2 {
		t.Errorf("ledger after a Stamp past Close: %v, want search|google 2", got)
	}
}

// TestComposeFlushesInBackground: the flushing goroutine hands visits over
// without a Flush call.
func TestComposeFlushesInBackground(t *testing.T) {
	ledger := memstore.New()
	s := tracklink.Compose(memstore.New(), ledger, tracklink.ComposeOptions{FlushInterval: 10 * time.Millisecond})
	defer s.Close(context.Background())
	stamp(t, s, 1, landing(tracklink.ChannelSocial, "tiktok", "ev"))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for visits(t, ledger, "ev")["social|tiktok"] != 1 {
		select {
		case <-ctx.Done():
			t.Fatal("the visit never reached the ledger")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// flaky is a ledger whose CountVisits fails while down is set.
type flaky struct {
	tracklink.LedgerStore
	down  atomic.Bool
	calls atomic.Int64
}

func (f *flaky) CountVisits(ctx context.Context, v []tracklink.VisitCount) error {
	f.calls.Add(1)
	if f.down.Load() {
		return errors.New("ledger down")
	}
	return f.LedgerStore.CountVisits(ctx, v)
}

// TestComposeDropsAndRetries: a full buffer drops visits, counts them and
// says so through OnError; a failed flush keeps its visits for the next.
func TestComposeDropsAndRetries(t *testing.T) {
	ledger := &flaky{LedgerStore: memstore.New()}
	var mu sync.Mutex
	var errs []error
	s := tracklink.Compose(memstore.New(), ledger, tracklink.ComposeOptions{
		FlushInterval: time.Hour, MaxPending: 3, MaxBatch: 100,
		OnError: func(_ context.Context, err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() },
	})
	defer s.Close(context.Background())
	// five sources, room for three entries: two visits are dropped
	for i, src := range []string{"a.example", "b.example", "c.example", "d.example", "e.example"} {
		stamp(t, s, i, landing(tracklink.ChannelReferral, src, "ev"))
	}
	// a known entry still counts
	stamp(t, s, 10, landing(tracklink.ChannelReferral, "a.example", "ev"))
	if got := s.Dropped(); got != 2 {
		t.Errorf("Dropped = %d, want 2", got)
	}
	ledger.down.Store(true)
	if err := s.Flush(t.Context()); err == nil {
		t.Fatal("Flush with the ledger down: no error")
	}
	mu.Lock()
	if len(errs) != 2 || !errors.Is(errs[0], tracklink.ErrVisitsDropped) {
		t.Errorf("OnError heard %v, want the dropped visits then the failed flush", errs)
	}
	mu.Unlock()
	ledger.down.Store(false)
	if err := s.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	want := map[string]int64{"referral|a.example": 2, "referral|b.example": 1, "referral|c.example": 1}
	got := visits(t, ledger, "ev")
	if len(got) != len(want) {
		t.Errorf("ledger after the retry: %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ledger after the retry: %s = %d, want %d", k, got[k], v)
		}
	}
}

// TestComposeSynchronous: a negative FlushInterval counts on Stamp, and a
// ledger error comes back from Stamp.
func TestComposeSynchronous(t *testing.T) {
	ledger := &flaky{LedgerStore: memstore.New()}
	s := tracklink.Compose(memstore.New(), ledger, tracklink.ComposeOptions{FlushInterval: -1})
	stamp(t, s, 1, landing(tracklink.ChannelSocial, "instagram", "ev"))
	if got := visits(t, ledger, "ev"); got["social|instagram"] != 1 {
		t.Errorf("ledger: %v, want social|instagram 1", got)
	}
	ledger.down.Store(true)
	_, err := s.Stamp(t.Context(), tracklink.Stamp{Session: ref(2), Touch: landing(tracklink.ChannelSocial, "instagram", "ev"), TTL: time.Hour})
	if err == nil {
		t.Error("Stamp with the ledger down: no error")
	}
}

// TestComposeFeed: Subscribe reaches the ledger's feed; a ledger without
// one answers errors.ErrUnsupported.
func TestComposeFeed(t *testing.T) {
	ledger := memstore.New()
	s := tracklink.Compose(memstore.New(), ledger, tracklink.ComposeOptions{FlushInterval: -1})
	ch, err := s.Subscribe(t.Context())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	a := tracklink.Attribution{OrderID: "o1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100,
		Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct", Evidence: "no touch"}, Rule: tracklink.RuleNoTouch, At: day}
	if _, err := s.Record(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c.Attribution.OrderID != "o1" || c.Kind != tracklink.HookUnattributed {
			t.Errorf("change %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change")
	}
	type noFeed struct{ tracklink.LedgerStore }
	s2 := tracklink.Compose(memstore.New(), noFeed{ledger}, tracklink.ComposeOptions{FlushInterval: -1})
	if _, err := s2.Subscribe(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Subscribe without a feed: %v, want errors.ErrUnsupported", err)
	}
}
