package report_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
)

// faultyStore is a memstore whose read side and registry (every
// ReportStore method) fail with a chosen error once failWith is called;
// the session and order side (Stamp, Record, Refund…) keeps working, so a
// fixture can be built first.
type faultyStore struct {
	*memstore.Store
	mu  sync.Mutex
	err error
}

var _ fullStore = (*faultyStore)(nil)

// failWith makes every ReportStore method return err (nil heals).
func (f *faultyStore) failWith(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *faultyStore) fault() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *faultyStore) SavePromoter(ctx context.Context, p tracklink.Promoter) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.SavePromoter(ctx, p)
}

func (f *faultyStore) Promoter(ctx context.Context, code string) (tracklink.Promoter, bool, error) {
	if err := f.fault(); err != nil {
		return tracklink.Promoter{}, false, err
	}
	return f.Store.Promoter(ctx, code)
}

func (f *faultyStore) Promoters(ctx context.Context) ([]tracklink.Promoter, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.Promoters(ctx)
}

func (f *faultyStore) PromoterByPromoCode(ctx context.Context, promo string) (string, bool, error) {
	if err := f.fault(); err != nil {
		return "", false, err
	}
	return f.Store.PromoterByPromoCode(ctx, promo)
}

func (f *faultyStore) DeletePromoter(ctx context.Context, code string) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.DeletePromoter(ctx, code)
}

func (f *faultyStore) Groups(ctx context.Context) ([]string, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.Groups(ctx)
}

func (f *faultyStore) SaveGroup(ctx context.Context, name string) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.SaveGroup(ctx, name)
}

func (f *faultyStore) RenameGroup(ctx context.Context, from, to string) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.RenameGroup(ctx, from, to)
}

func (f *faultyStore) DeleteGroup(ctx context.Context, name string) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.DeleteGroup(ctx, name)
}

func (f *faultyStore) SaveLink(ctx context.Context, l tracklink.Link) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.SaveLink(ctx, l)
}

func (f *faultyStore) Link(ctx context.Context, id string) (tracklink.Link, bool, error) {
	if err := f.fault(); err != nil {
		return tracklink.Link{}, false, err
	}
	return f.Store.Link(ctx, id)
}

func (f *faultyStore) Links(ctx context.Context, event string) ([]tracklink.Link, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.Links(ctx, event)
}

func (f *faultyStore) DeleteLink(ctx context.Context, id string) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.DeleteLink(ctx, id)
}

func (f *faultyStore) EventTraffic(ctx context.Context, event, from, to string) ([]tracklink.SourceCounts, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.EventTraffic(ctx, event, from, to)
}

func (f *faultyStore) EventDays(ctx context.Context, event, from, to string) ([]tracklink.DayCounts, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.EventDays(ctx, event, from, to)
}

func (f *faultyStore) PromoterStats(ctx context.Context, codes []string) ([]tracklink.PromoterStats, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.PromoterStats(ctx, codes)
}

func (f *faultyStore) PromoterSummary(ctx context.Context, group string) (tracklink.PromoterSummary, error) {
	if err := f.fault(); err != nil {
		return tracklink.PromoterSummary{}, err
	}
	return f.Store.PromoterSummary(ctx, group)
}

func (f *faultyStore) PromoterRanking(ctx context.Context, group string, offset, limit int) ([]tracklink.RankedPromoter, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.PromoterRanking(ctx, group, offset, limit)
}

func (f *faultyStore) RecentOrders(ctx context.Context, event string, limit int) ([]tracklink.Attribution, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.RecentOrders(ctx, event, limit)
}

func (f *faultyStore) PromoterDays(ctx context.Context, code, from, to string) ([]tracklink.DayCounts, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.PromoterDays(ctx, code, from, to)
}

func (f *faultyStore) Orders(ctx context.Context, event string, fn func(tracklink.Attribution) error) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.Orders(ctx, event, fn)
}

func (f *faultyStore) Subscribe(ctx context.Context) (<-chan tracklink.Change, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.Subscribe(ctx)
}

// TestFaultyStoreFailsEveryReportMethod keeps faultyStore honest: a
// ReportStore method it forgot to override would be memstore's, which
// does not return the injected error.
func TestFaultyStoreFailsEveryReportMethod(t *testing.T) {
	errDown := errors.New("store down")
	f := &faultyStore{Store: memstore.New()}
	f.failWith(errDown)
	v := reflect.ValueOf(f)
	iface := reflect.TypeFor[tracklink.ReportStore]()
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		m := v.MethodByName(name)
		in := []reflect.Value{reflect.ValueOf(context.Background())}
		for j := 1; j < m.Type().NumIn(); j++ {
			in = append(in, reflect.Zero(m.Type().In(j)))
		}
		out := m.Call(in)
		err, _ := out[len(out)-1].Interface().(error)
		assert.ErrorIs(t, err, errDown, "faultyStore.%s does not fail", name)
	}

	f.failWith(nil)
	require.NoError(t, f.SaveGroup(context.Background(), "healed"), "failWith(nil) heals")
}

// cutStore fails its Orders walk after handing out rows orders, as a
// store connection lost in the middle of an export would.
type cutStore struct {
	*memstore.Store
	rows int
}

func (c *cutStore) Orders(ctx context.Context, event string, fn func(tracklink.Attribution) error) error {
	for i := range c.rows {
		a := tracklink.Attribution{OrderID: "cut-" + string(rune('a'+i%26)), Event: "summer-fest", Currency: "EUR",
			Tickets: 1, Revenue: 100, Rule: tracklink.RuleNoTouch, At: day0.Add(time.Duration(i) * time.Second),
			Touch: tracklink.Touch{Channel: tracklink.ChannelDirect, Source: "direct"}}
		if err := fn(a); err != nil {
			return err
		}
	}
	return errors.New("read tcp 127.0.0.1:6379: connection reset by peer")
}
