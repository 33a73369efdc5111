package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// subscribePing is how long a quiet subscription waits before it pings the
// server, so a dead connection is noticed (and go-redis reconnects).
const subscribePing = 30 * time.Second

// Subscribe streams the changes recorded from now on by any instance that
// shares the Redis and the prefix: one per hook queued by Record and Refund
// (both for an order whose refund came first). Record and Refund PUBLISH
// them on the channel Prefix+"changes" from inside their scripts, so a
// change is published exactly when it is committed.
//
// Subscribe returns once Redis confirmed the subscription. The channel has
// a buffer of Options.SubscribeBuffer; when it is full a change is dropped
// for this subscriber, so a slow reader never blocks anything. Pub/sub is
// at most once: changes published while the connection is down are lost
// (the outbox, not the feed, is what guarantees hooks). The channel is
// closed and the subscription released once ctx ends, or once the client
// is closed (redis.ErrClosed), whichever comes first.
func (s *Store) Subscribe(ctx context.Context) (<-chan tracklink.Change, error) {
	ps := s.rdb.Subscribe(ctx, s.channel)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, s.wrap("subscribe", err)
	}
	ch := make(chan tracklink.Change, s.opts.SubscribeBuffer)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	go func() {
		defer close(ch)
		defer stop()
		defer ps.Close()
		for {
			msg, err := ps.ReceiveTimeout(ctx, subscribePing)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if errors.Is(err, redis.ErrClosed) {
					// The client (or this subscription) was closed:
					// nothing will ever come again, whatever ctx does.
					return
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					_ = ps.Ping(ctx)
					continue
				}
				// The connection broke; go-redis reconnects and
				// resubscribes on the next receive. On a Cluster the
				// node may have died: reload the slot map so that the
				// reconnect finds the new master (see Store.wrap).
				// Back off a little.
				if s.cluster != nil {
					s.cluster.ReloadState(ctx)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			m, ok := msg.(*redis.Message)
			if !ok {
				continue
			}
			var c tracklink.Change
			if err := json.Unmarshal([]byte(m.Payload), &c); err != nil {
				continue
			}
			select {
			case ch <- c:
			default: // the subscriber is behind: drop
			}
		}
	}()
	return ch, nil
}
