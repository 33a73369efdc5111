package memstore

import (
	"context"

	"github.com/tracklink/tracklink"
)

type subscriber struct {
	ch      chan tracklink.Change
	dropped int64 // changes lost because ch was full
}

// Subscribe streams the changes recorded from now on: one per hook queued
// by Record and Refund (HookAttributed or HookUnattributed for a new order,
// HookRefunded for a refund; both for an order whose refund came first).
// Duplicates publish nothing. The channel has a buffer of
// Options.SubscriberBuffer (default 64); when it is full the change is
// dropped for that subscriber, so a slow reader never blocks Record. The
// channel is closed once ctx ends. No goroutine waits on ctx: the cleanup
// runs through context.AfterFunc.
//
// A memstore only sees its own process: "any instance that shares the
// store" is this one.
func (s *Store) Subscribe(ctx context.Context) (<-chan tracklink.Change, error) {
	sub := &subscriber{ch: make(chan tracklink.Change, s.subBuf)}
	if ctx.Err() != nil {
		close(sub.ch)
		return sub.ch, nil
	}
	s.subMu.Lock()
	s.subs[sub] = struct{}{}
	s.subMu.Unlock()
	context.AfterFunc(ctx, func() {
		s.subMu.Lock()
		delete(s.subs, sub)
		close(sub.ch)
		s.subMu.Unlock()
	})
	return sub.ch, nil
}

// publish hands c to every subscriber without blocking.
func (s *Store) publish(c tracklink.Change) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		select {
		case sub.ch <- c:
		default:
			sub.dropped++
		}
	}
}
