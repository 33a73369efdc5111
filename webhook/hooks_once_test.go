package webhook

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// TestDuplicateDeliveriesRunHookOnce sends 50 copies of one order at once:
// the order counts once and OnAttributed runs once (the first delivery
// claims the hook; the others answer 200 once it is acked, or 503 while it
// runs, and the provider comes back).
func TestDuplicateDeliveriesRunHookOnce(t *testing.T) {
	for _, st := range concurrencyStores {
		t.Run(st.name, func(t *testing.T) {
			s, _ := st.new(t)
			var ran atomic.Int64
			hooks := tracklink.Hooks{OnUnattributed: func(context.Context, tracklink.Attribution) error {
				ran.Add(1)
				time.Sleep(20 * time.Millisecond) // a hook takes a while: the copies overlap it
				return nil
			}}
			h := newStdHandler(t, s, hooks, func(c *Config) { c.Now = time.Now })
			body := completedBody("ord_once", "", "summer-fest", 2)
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for range 50 {
				wg.Go(func() {
					w := serve(h, stdRequest(stdSecretA, time.Now(), body))
					mu.Lock()
					codes[w.Code]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if n := ran.Load(); n != 1 {
				t.Errorf("OnUnattributed ran %d times for 50 concurrent copies; want 1 (codes %v)", n, codes)
			}
			if codes[http.StatusOK] == 0 || codes[http.StatusOK]+codes[http.StatusServiceUnavailable] != 50 {
				t.Errorf("codes %v; want 200s and 503s only, at least one 200", codes)
			}
			// the provider's redeliveries afterwards are plain duplicates
			if w := serve(h, stdRequest(stdSecretA, time.Now(), body)); w.Code != http.StatusOK || decodeResult(t, w).Status != statusDuplicate {
				t.Errorf("redelivery: %d %s; want 200 duplicate", w.Code, trimmed(w))
			}
			if n := ran.Load(); n != 1 {
				t.Errorf("OnUnattributed ran %d times after a redelivery; want 1", n)
			}
			if c := eventCounts(t, s, "summer-fest"); c.Orders != 1 {
				t.Errorf("orders %d, want 1", c.Orders)
			}
		})
	}
}

// TestFailedHookRunsAgain: a hook that fails answers 500 and releases its
// claim, so the provider's next delivery runs it at once (at least once).
func TestFailedHookRunsAgain(t *testing.T) {
	for _, st := range concurrencyStores {
		t.Run(st.name, func(t *testing.T) {
			s, _ := st.new(t)
			var calls atomic.Int64
			hooks := tracklink.Hooks{OnUnattributed: func(context.Context, tracklink.Attribution) error {
				if calls.Add(1) == 1 {
					return errors.New("crm down")
				}
				return nil
			}}
			h := newStdHandler(t, s, hooks, func(c *Config) { c.Now = time.Now })
			body := completedBody("ord_fail", "", "summer-fest", 1)
			if w := serve(h, stdRequest(stdSecretA, time.Now(), body)); w.Code != http.StatusInternalServerError {
				t.Fatalf("first delivery: %d %s; want 500", w.Code, trimmed(w))
			}
			if w := serve(h, stdRequest(stdSecretA, time.Now(), body)); w.Code != http.StatusOK {
				t.Fatalf("redelivery: %d %s; want 200", w.Code, trimmed(w))
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("OnUnattributed ran %d times; want 2 (failed, then again)", n)
			}
			if w := serve(h, stdRequest(stdSecretA, time.Now(), body)); w.Code != http.StatusOK {
				t.Fatalf("third delivery: %d", w.Code)
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("OnUnattributed ran %d times after it succeeded; want 2", n)
			}
		})
	}
}
