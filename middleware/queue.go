package middleware

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
)

// Queue tuning. The queue's size and deadline are Config fields; these are
// the rest.
const (
	// queueWorkers write queued stamps concurrently: a slow store answers
	// each in its own time, and a few calls in flight keep up with a
	// burst of landings without adding much load.
	queueWorkers = 4
	// queueAttempts is how many failed store calls one queued stamp gets
	// (an error or QueueTimeout each; waiting for an open breaker is not an
	// attempt) before it is given up and counted as failed.
	queueAttempts = 5
	// queueMinBackoff and queueMaxBackoff bound the pause after a failed
	// call, doubling from the first to the second, and the pause between
	// looks at an open breaker.
	queueMinBackoff = 50 * time.Millisecond
	queueMaxBackoff = time.Second
)

// queued is a stamp waiting for the store, with the session's visit for
// Hooks.OnVisit.
type queued struct {
	stamp tracklink.Stamp
	visit tracklink.Visit
}

// queue holds the stamps that missed the request's budget until a worker
// writes them. The response path only ever tries a non-blocking send.
type queue struct {
	ch chan queued

	mu     sync.RWMutex // held for reading by senders, for writing by Close
	closed bool
	start  sync.Once
	wg     sync.WaitGroup

	draining  chan struct{} // closed by Close: workers leave once ch is empty
	drainOnce sync.Once
	ctx       context.Context // ends when Close gives up: workers abandon what is left
	cancel    context.CancelFunc
}

func newQueue(size int) *queue {
	q := &queue{draining: make(chan struct{})}
	if size > 0 {
		q.ch = make(chan queued, size)
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q
}

// enqueue hands it to the workers without blocking and returns the
// landing's outcome: cQueued, cDropped when the queue is full, or reason
// (why it was not stamped in time) when the queue is disabled or closed.
func (m *Middleware) enqueue(it queued, reason counter) counter {
	q := m.queue
	if q.ch == nil {
		return reason
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return reason
	}
	// The first queued stamp starts the workers, so a middleware whose
	// store always answers in time never runs them. Under the read lock:
	// Close waits for them only after taking the write lock.
	q.start.Do(func() {
		q.wg.Add(queueWorkers)
		for range queueWorkers {
			go m.work()
		}
	})
	select {
	case q.ch <- it:
	default:
		return cDropped
	}
	return cQueued
}

// work writes queued stamps until Close: then it drains the queue and
// returns when it is empty.
func (m *Middleware) work() {
	q := m.queue
	defer q.wg.Done()
	for {
		select {
		case it := <-q.ch:
			m.writeLate(it)
		case <-q.draining:
			for {
				select {
				case it := <-q.ch:
					m.writeLate(it)
				default:
					return
				}
			}
		}
	}
}

// writeLate writes one queued stamp through the breaker, each call bounded
// by QueueTimeout, retrying with backoff, and counts its outcome.
func (m *Middleware) writeLate(it queued) {
	q := m.queue
	backoff := queueMinBackoff
	for attempt := 1; ; {
		if q.ctx.Err() != nil {
			m.counters.add(cQueueAbandoned)
			return
		}
		now := m.cfg.Now()
		if !m.breaker.allow(now) {
			// Open (or another call is probing): look again when the
			// cooldown ends, at least every queueMaxBackoff.
			wait := queueMinBackoff
			if until := m.breaker.openUntil.Load(); until > now.UnixNano() {
				wait = min(time.Duration(until-now.UnixNano()), queueMaxBackoff)
			}
			m.pause(wait)
			continue
		}
		ctx, cancel := context.WithTimeout(q.ctx, m.cfg.QueueTimeout)
		res, err := m.store.Stamp(ctx, it.stamp)
		cancel()
		if err == nil {
			m.breaker.success()
			m.counters.add(cQueueStamped)
			if m.cfg.Hooks.OnVisit != nil {
				v := it.visit
				v.Tracked, v.Current = true, res.Current
				m.cfg.Hooks.OnVisit(context.Background(), v, res.Counted)
			}
			return
		}
		if q.ctx.Err() != nil { // Close gave up; not the store's fault
			m.breaker.probing.Store(false)
			m.counters.add(cQueueAbandoned)
			return
		}
		if m.breaker.failure(m.cfg.Now()) {
			m.report(context.Background(), fmt.Errorf("%w: queued stamp: %w", ErrBreakerOpen, err))
		} else {
			m.report(context.Background(), fmt.Errorf("middleware: queued stamp: %w", err))
		}
		if attempt >= queueAttempts {
			m.counters.add(cQueueFailed)
			return
		}
		attempt++
		m.pause(backoff)
		backoff = min(2*backoff, queueMaxBackoff)
	}
}

// pause waits d, or less when Close gives up.
func (m *Middleware) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.queue.ctx.Done():
	}
}

// Close stops queueing and writes the stamps still queued (see
// Config.QueueSize) until the queue is empty or ctx ends; then it stops
// the queue's goroutines and returns. Stamps it could not write are
// counted in Stats (Queue.Abandoned) and reported in the error, which
// wraps ctx's. A host calls Close when it shuts down, after its
// http.Server's Shutdown returned (no request is in flight), with the time
// it can spare. Landings served after Close are stamped as before when the
// store answers in time; the rest go untracked, counted as
// Landings.Deadline or Landings.BreakerOpen. Close may be
// called more than once. Once ctx ends it returns as soon as the store
// calls in flight return, which they do at once for a store that honours
// its context (memstore, redisstore, pgstore).
func (m *Middleware) Close(ctx context.Context) error {
	q := m.queue
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.drainOnce.Do(func() { close(q.draining) })

	before := m.counters[cQueueAbandoned].n.Load()
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		q.cancel() // workers abandon what is left and return at once
		<-done
	}
	if n := m.counters[cQueueAbandoned].n.Load() - before; n > 0 {
		return fmt.Errorf("middleware: close: %d queued stamps left unwritten: %w", n, ctx.Err())
	}
	return nil
}
