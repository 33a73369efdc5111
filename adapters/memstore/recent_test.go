package memstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tracklink/tracklink"
)

// recentList keeps every order, sorted, whatever the arrival order, across
// chunk splits.
func TestRecentListSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var l recentList
	var all []*order
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 * recentChunk {
		o := &order{a: tracklink.Attribution{OrderID: fmt.Sprintf("o%05d", i), At: base.Add(time.Duration(r.IntN(1000)) * time.Second)}}
		if i%3 == 0 {
			o.a.At = base.Add(time.Duration(1000+i) * time.Second) // in time order
		}
		l.insert(o)
		all = append(all, o)
	}
	slices.SortFunc(all, orderCmp)
	if l.n != len(all) {
		t.Fatalf("n = %d, want %d", l.n, len(all))
	}
	if len(l.chunks) < 5 {
		t.Fatalf("%d chunks for %d orders: the chunks did not split", len(l.chunks), len(all))
	}
	var flat []*order
	for _, c := range l.chunks {
		if len(c) == 0 || len(c) > recentChunk {
			t.Fatalf("chunk of %d orders", len(c))
		}
		flat = append(flat, c...)
	}
	if !slices.Equal(flat, all) {
		t.Fatal("orders out of order")
	}
	newest := l.newest(recentChunk + 7)
	for i, o := range newest {
		if o != all[len(all)-1-i] {
			t.Fatalf("newest[%d] = %s, want %s", i, o.a.OrderID, all[len(all)-1-i].a.OrderID)
		}
	}
	if got := len(l.newest(10 * len(all))); got != len(all) {
		t.Fatalf("newest of more than held: %d, want %d", got, len(all))
	}
}
