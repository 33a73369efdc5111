package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracklink/tracklink"
)

// subscribeWait bounds how long Subscribe waits for the listener's first
// LISTEN when it is not running yet.
const subscribeWait = 5 * time.Second

// feed is the store's one listener, shared by its subscribers: a
// connection taken out of the pool (so it does not count against the
// pool's size) that LISTENs on the store's channel while anyone is
// subscribed, and reconnects when the connection drops. Changes published
// while it reconnects are lost: the feed is at most once; the outbox
// guarantees hooks.
type feed struct {
	s      *Store
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	cancel context.CancelFunc // of the running listener; nil when stopped
	live   chan struct{}      // closed once the running listener listens
	err    error              // its last connection error
	closed bool
}

type subscriber struct {
	ch      chan tracklink.Change
	dropped int64 // changes lost because ch was full
}

func (f *feed) init(s *Store) {
	f.s = s
	f.subs = make(map[*subscriber]struct{})
}

// Subscribe streams the changes recorded from now on by any instance that
// shares the database: one per hook queued by Record and Refund, sent with
// NOTIFY inside their transactions (so delivered once they commit, never
// for a rolled-back order). It returns once the listener is live (waiting
// at most 5 s for its connection); the channel is closed when ctx ends or
// Close is called. Each channel buffers Options.SubscribeBuffer changes;
// when it is full, changes are dropped for that subscriber, so a slow
// reader never blocks the others or the store.
func (s *Store) Subscribe(ctx context.Context) (<-chan tracklink.Change, error) {
	sub := &subscriber{ch: make(chan tracklink.Change, s.opts.SubscribeBuffer)}
	if ctx.Err() != nil {
		close(sub.ch)
		return sub.ch, nil
	}
	live, err := s.feed.add(sub)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(subscribeWait)
	defer t.Stop()
	select {
	case <-live:
	case <-ctx.Done():
		s.feed.remove(sub)
		return sub.ch, nil
	case <-t.C:
		s.feed.remove(sub)
		s.feed.mu.Lock()
		err := s.feed.err
		s.feed.mu.Unlock()
		return nil, wrap("subscribe", fmt.Errorf("listener not connected after %v: %w", subscribeWait, err))
	}
	context.AfterFunc(ctx, func() { s.feed.remove(sub) })
	return sub.ch, nil
}

// add registers sub and starts the listener if needed; it returns the
// channel closed once the listener listens.
func (f *feed) add(sub *subscriber) (<-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, tracklink.ErrStoreClosed
	}
	f.subs[sub] = struct{}{}
	if f.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		f.cancel, f.live, f.err = cancel, make(chan struct{}), nil
		go f.run(ctx, f.live)
	}
	return f.live, nil
}

// remove unregisters sub and closes its channel (once); the listener stops
// with the last subscriber.
func (f *feed) remove(sub *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[sub]; !ok {
		return
	}
	delete(f.subs, sub)
	close(sub.ch)
	if len(f.subs) == 0 && f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for sub := range f.subs {
		delete(f.subs, sub)
		close(sub.ch)
	}
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

// run listens until ctx ends, reconnecting with a backoff of 50 ms doubling
// to 5 s.
func (f *feed) run(ctx context.Context, live chan struct{}) {
	var once sync.Once
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := f.listen(ctx, func() {
			once.Do(func() { close(live) })
			backoff = 50 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listen holds one connection listening on the channel and fans its
// notifications out until the connection fails or ctx ends.
func (f *feed) listen(ctx context.Context, listening func()) error {
	pc, err := f.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{f.s.channel}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		c, err := f.decode(ctx, n.Payload)
		if err != nil {
			continue // not ours, or the order is gone: nothing to tell
		}
		f.publish(c)
	}
}

// decode reads a notification. A change too large for a notification
// carries the order id only; the attribution is read back.
func (f *feed) decode(ctx context.Context, payload string) (tracklink.Change, error) {
	var msg struct {
		Kind        tracklink.HookKind     `json:"kind"`
		Attribution *tracklink.Attribution `json:"attribution"`
		OrderID     string                 `json:"order_id"`
	}
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		return tracklink.Change{}, err
	}
	if msg.Attribution != nil {
		return tracklink.Change{Kind: msg.Kind, Attribution: *msg.Attribution}, nil
	}
	a, ok, err := f.s.Attribution(ctx, msg.OrderID)
	if err == nil && !ok {
		err = errors.New("order not found")
	}
	return tracklink.Change{Kind: msg.Kind, Attribution: a}, err
}

func (f *feed) publish(c tracklink.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		select {
		case sub.ch <- c:
		default:
			sub.dropped++
		}
	}
}
