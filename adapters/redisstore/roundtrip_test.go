package redisstore

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// countHook counts the client's round trips: each command sent alone and
// each pipeline is one.
type countHook struct {
	mu    sync.Mutex
	trips int
	names []string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.trips++
		h.names = append(h.names, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.trips++
		for _, c := range cmds {
			h.names = append(h.names, "pipeline:"+c.Name())
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countHook) reset() {
	h.mu.Lock()
	h.trips, h.names = 0, nil
	h.mu.Unlock()
}

func (h *countHook) want(t *testing.T, what string, trips int, names ...string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := h.trips == trips && len(h.names) == len(names)
	for i := 0; ok && i < len(names); i++ {
		ok = h.names[i] == names[i]
	}
	if !ok {
		t.Errorf("%s: %d round trips %v, want %d %v", what, h.trips, h.names, trips, names)
	}
}

// TestRoundTrips proves the hot paths cost one round trip: Stamp (new or
// existing session, counted or not) and Record (of an order whose promoter
// is not registered) are one EVALSHA, Touches one HMGET, once the scripts
// are cached on the server; Refund is two (the first names the keys of the
// order's buckets), a duplicate refund one.
func TestRoundTrips(t *testing.T) {
	ts := newTestStore(t, Options{})
	hook := &countHook{}
	ts.rdb.AddHook(hook)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: at}
	st := tracklink.Stamp{Session: "sess000000000000000001", Touch: touch, TTL: time.Hour}
	a := tracklink.Attribution{OrderID: "ord-1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100, Touch: touch, Rule: tracklink.RuleEventTouch, At: at}

	// warm the script cache (the first EVALSHA may fall back to EVAL)
	warm := st
	warm.Session = "sess000000000000000000"
	if _, err := ts.Stamp(ctx, warm); err != nil {
		t.Fatal(err)
	}
	warmOrder := a
	warmOrder.OrderID = "ord-0"
	if _, err := ts.Record(ctx, warmOrder); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Refund(ctx, warmOrder.OrderID, at); err != nil {
		t.Fatal(err)
	}

	hook.reset()
	if r, err := ts.Stamp(ctx, st); err != nil || !r.Counted {
		t.Fatalf("Stamp (new session): %+v, %v", r, err)
	}
	hook.want(t, "Stamp (new session)", 1, "evalsha")

	hook.reset()
	st.Touch.Channel, st.Touch.Source, st.Touch.Promoter = tracklink.ChannelDirect, "direct", ""
	if r, err := ts.Stamp(ctx, st); err != nil || r.Counted || r.Current.Promoter != "ana" {
		t.Fatalf("Stamp (existing session): %+v, %v", r, err)
	}
	hook.want(t, "Stamp (existing session)", 1, "evalsha")

	hook.reset()
	if ev, _, err := ts.Touches(ctx, st.Session, "ev"); err != nil || ev == nil {
		t.Fatalf("Touches: %v, %v", ev, err)
	}
	hook.want(t, "Touches", 1, "hmget")

	hook.reset()
	if r, err := ts.Record(ctx, a); err != nil || !r.Applied {
		t.Fatalf("Record: %+v, %v", r, err)
	}
	hook.want(t, "Record", 1, "evalsha")

	hook.reset()
	if r, err := ts.Record(ctx, a); err != nil || r.Applied {
		t.Fatalf("duplicate Record: %+v, %v", r, err)
	}
	hook.want(t, "duplicate Record", 1, "evalsha")

	hook.reset()
	if _, ok, err := ts.Refund(ctx, "ord-1", at); err != nil || !ok {
		t.Fatalf("Refund: %v, %v", ok, err)
	}
	// the first script finds the order's buckets, the second gets their keys
	hook.want(t, "Refund", 2, "evalsha", "evalsha")

	hook.reset()
	if r, ok, err := ts.Refund(ctx, "ord-1", at); err != nil || !ok || r.Applied {
		t.Fatalf("duplicate Refund: %+v, %v, %v", r, ok, err)
	}
	hook.want(t, "duplicate Refund", 1, "evalsha")
}

// TestUnreachable points a store at a closed port: every method fails by
// itself (the refused connection), long before its context's generous
// deadline, with an error that is not ErrInvalid, and no panic. A method
// that hung instead would end with the deadline's error.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more

	opts := RecommendedOptions(addr).Simple()
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() }) // after the parallel subtests
	s := mustNew(rdb, Options{Prefix: "tracklinktest-unreachable:"})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const sess = "sess000000000000000001"
	touch := tracklink.Touch{Channel: tracklink.ChannelSocial, Source: "instagram", Event: "ev", At: at}
	a := tracklink.Attribution{OrderID: "ord-1", Event: "ev", Currency: "EUR", Touch: touch, Rule: tracklink.RuleEventTouch, At: at}

	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Stamp", func(ctx context.Context) error {
			_, err := s.Stamp(ctx, tracklink.Stamp{Session: sess, Touch: touch, TTL: time.Hour})
			return err
		}},
		{"Touches", func(ctx context.Context) error { _, _, err := s.Touches(ctx, sess, "ev"); return err }},
		{"Record", func(ctx context.Context) error { _, err := s.Record(ctx, a); return err }},
		{"Refund", func(ctx context.Context) error { _, _, err := s.Refund(ctx, "ord-1", at); return err }},
		{"Ack", func(ctx context.Context) error { return s.Ack(ctx, "ord-1", tracklink.HookAttributed) }},
		{"Attribution", func(ctx context.Context) error { _, _, err := s.Attribution(ctx, "ord-1"); return err }},
		{"SavePromoter", func(ctx context.Context) error {
			return s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Created: at})
		}},
		{"Promoter", func(ctx context.Context) error { _, _, err := s.Promoter(ctx, "ana"); return err }},
		{"Promoters", func(ctx context.Context) error { _, err := s.Promoters(ctx); return err }},
		{"PromoterByPromoCode", func(ctx context.Context) error { _, _, err := s.PromoterByPromoCode(ctx, "x"); return err }},
		{"DeletePromoter", func(ctx context.Context) error { return s.DeletePromoter(ctx, "ana") }},
		{"Groups", func(ctx context.Context) error { _, err := s.Groups(ctx); return err }},
		{"SaveGroup", func(ctx context.Context) error { return s.SaveGroup(ctx, "crew") }},
		{"RenameGroup", func(ctx context.Context) error { return s.RenameGroup(ctx, "crew", "gold") }},
		{"DeleteGroup", func(ctx context.Context) error { return s.DeleteGroup(ctx, "crew") }},
		{"SaveLink", func(ctx context.Context) error {
			return s.SaveLink(ctx, tracklink.Link{ID: "l", Event: "ev", UTM: tracklink.UTM{Source: "x"}, Created: at})
		}},
		{"Link", func(ctx context.Context) error { _, _, err := s.Link(ctx, "l"); return err }},
		{"Links", func(ctx context.Context) error { _, err := s.Links(ctx, ""); return err }},
		{"DeleteLink", func(ctx context.Context) error { return s.DeleteLink(ctx, "l") }},
		{"EventTraffic", func(ctx context.Context) error { _, err := s.EventTraffic(ctx, "ev", "", ""); return err }},
		{"EventDays", func(ctx context.Context) error {
			_, err := s.EventDays(ctx, "ev", "2026-03-01", "2026-03-31")
			return err
		}},
		{"PromoterStats", func(ctx context.Context) error { _, err := s.PromoterStats(ctx, []string{"ana"}); return err }},
		{"PromoterDays", func(ctx context.Context) error {
			_, err := s.PromoterDays(ctx, "ana", "2026-03-01", "2026-03-31")
			return err
		}},
		{"Orders", func(ctx context.Context) error {
			return s.Orders(ctx, "", func(tracklink.Attribution) error { return nil })
		}},
		{"Subscribe", func(ctx context.Context) error { _, err := s.Subscribe(ctx); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each waits out go-redis' dial retries
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := c.call(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrInvalid) {
				t.Errorf("error %v wraps ErrInvalid", err)
			}
			if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				t.Errorf("the call waited for its context's deadline instead of failing on the refused connection: %v", err)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v is not the refused connection", err)
			}
		})
	}
}
