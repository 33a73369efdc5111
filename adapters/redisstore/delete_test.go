package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// failFoldOnce fails the first pipeline that runs foldScript, before it
// reaches Redis, while armed.
type failFoldOnce struct{ armed atomic.Bool }

func (h *failFoldOnce) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *failFoldOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *failFoldOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if a := c.Args(); len(a) > 1 && fmt.Sprint(a[0]) == "evalsha" && fmt.Sprint(a[1]) == foldScript.Hash() &&
				h.armed.CompareAndSwap(true, false) {
				return errors.New("injected: fold pipeline failed")
			}
		}
		return next(ctx, cmds)
	}
}

// TestDeletePromoterRetry checks that a DeletePromoter whose visit fold
// failed leaves what a retry needs, and that the retry finishes the job.
func TestDeletePromoterRetry(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			ctx := t.Context()
			ts := newTestStore(t, Options{})
			ts.split = split
			hook := &failFoldOnce{}
			ts.rdb.AddHook(hook)
			s := ts.Store
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			touch := tracklink.Touch{Channel: tracklink.ChannelPromoter, Source: "ana", Promoter: "ana", Event: "ev", At: at, Evidence: "param promoter=ana"}
			if err := s.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Stamp(ctx, tracklink.Stamp{Session: "abcdefghijklmnopqrstuv", Touch: touch, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Record(ctx, tracklink.Attribution{OrderID: "o1", Event: "ev", Currency: "EUR", Tickets: 1, Revenue: 100, Touch: touch, Rule: tracklink.RuleEventTouch, At: at}); err != nil {
				t.Fatal(err)
			}

			hook.armed.Store(true)
			if err := s.DeletePromoter(ctx, "ana"); err == nil {
				t.Fatal("DeletePromoter with a failing fold: no error")
			}
			if hook.armed.Load() {
				t.Fatal("the fold pipeline never ran")
			}
			if err := s.DeletePromoter(ctx, "ana"); err != nil {
				t.Fatalf("DeletePromoter retry: %v", err)
			}
			if _, ok, err := s.Promoter(ctx, "ana"); ok || err != nil {
				t.Errorf("Promoter(ana) after the retry: ok %v, err %v", ok, err)
			}
			for _, r := range [][2]string{{"", ""}, {"2026-03-01", "2026-03-01"}} {
				rows, err := s.EventTraffic(ctx, "ev", r[0], r[1])
				if err != nil {
					t.Fatal(err)
				}
				want := "promoter|" + tracklink.DeletedPromoter
				if len(rows) != 1 || rows[0].Key != want || rows[0].Visits != 1 || rows[0].Orders != 1 {
					t.Errorf("EventTraffic(ev, %q, %q) after the retry = %+v, want one %s row with the visit and the order", r[0], r[1], rows, want)
				}
			}
		})
	}
}

// TestSubscribeClientClosed checks that a subscription whose context never
// ends stops (its channel closed) once the client is closed.
func TestSubscribeClientClosed(t *testing.T) {
	rdb, _ := testClient(t) // its own client: the test closes it
	s := mustNew(rdb, Options{Prefix: "tracklinktest-subscribe-closed:"})
	ch, err := s.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	// Generous: only a subscription that never notices the close waits
	// this long.
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("Subscribe's channel still open 30 s after the client was closed")
		}
	}
}
