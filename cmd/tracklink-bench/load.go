package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connStats is what one connection saw while the round was recorded.
type connStats struct {
	lat      []time.Duration
	failed   int // transport errors and unexpected status codes
	non200   int // answers with a status other than 200 (counted in failed too)
	noCookie int // a new visitor's answer without a session cookie
	cookie   int // an untracked page's answer with a cookie
	lastErr  string
}

// worker is one keep-alive HTTP/1.1 connection in a closed loop: it sends
// the next request when the previous answer has been read.
type worker struct {
	id      int
	m       mode
	base    string
	secret  string
	runID   string
	client  *http.Client
	cookies []*http.Cookie
	session string
	event   string
	seq     int
}

func newWorker(id int, m mode, base, secret, runID string) *worker {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &worker{id: id, m: m, base: base, secret: secret, runID: runID,
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (w *worker) close() { w.client.CloseIdleConnections() }

// prepare lands once for the modes that need a session first.
func (w *worker) prepare(ctx context.Context) error {
	if !w.m.returning && !w.m.session {
		return nil
	}
	r := landing(w.base, w.id).WithContext(ctx)
	resp, err := w.client.Do(r)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("first landing: status %d", resp.StatusCode)
	}
	w.cookies = resp.Cookies()
	if w.m.returning && len(w.cookies) == 0 {
		return errors.New("first landing set no session cookie")
	}
	w.event = events[w.id%len(events)]
	if w.m.session {
		if w.session = resp.Header.Get("X-Session"); w.session == "" {
			return errors.New("first landing carried no session")
		}
	}
	return nil
}

func (w *worker) request(ctx context.Context) *http.Request {
	var r *http.Request
	switch {
	case w.m.session:
		w.seq++
		r = orderRequest(w.base, w.secret, fmt.Sprintf("ord_%s_%d_%d", w.runID, w.id, w.seq), w.session, w.event)
	case w.m.untracked:
		r = ownPage(w.base)
	default:
		r = landing(w.base, w.id)
		for _, c := range w.cookies {
			r.AddCookie(c)
		}
	}
	return r.WithContext(ctx)
}

// do sends one request and checks its answer into st.
func (w *worker) do(ctx context.Context, st *connStats, record bool) {
	r := w.request(ctx)
	start := time.Now()
	resp, err := w.client.Do(r)
	if err != nil {
		if record {
			st.failed++
			st.lastErr = err.Error()
		}
		// A refused or reset connection fails at once: do not spin.
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d := time.Since(start)
	if !record {
		return
	}
	st.lat = append(st.lat, d)
	if resp.StatusCode != http.StatusOK {
		st.failed++
		st.non200++
		st.lastErr = resp.Status
	}
	hasCookie := len(resp.Header.Values("Set-Cookie")) > 0
	if w.m.newVisitor && !hasCookie {
		st.noCookie++
	}
	if w.m.untracked && hasCookie {
		st.cookie++
	}
}

// load drives base with conns workers: each prepares, then loops until
// stop is closed; answers are recorded while record is set.
type load struct {
	stats   []connStats
	wg      sync.WaitGroup
	record  atomic.Bool
	stopped atomic.Bool
	workers []*worker
}

// startLoad starts the workers; with record set every answer is recorded
// from the first.
func startLoad(ctx context.Context, m mode, base, secret, runID string, conns int, record bool) (*load, error) {
	l := &load{stats: make([]connStats, conns)}
	l.record.Store(record)
	errs := make(chan error, conns)
	var ready sync.WaitGroup
	for i := range conns {
		w := newWorker(i, m, base, secret, runID)
		l.workers = append(l.workers, w)
		ready.Add(1)
		l.wg.Go(func() {
			err := w.prepare(ctx)
			ready.Done()
			if err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
				return
			}
			st := &l.stats[i]
			st.lat = make([]time.Duration, 0, 4096)
			for !l.stopped.Load() && ctx.Err() == nil {
				w.do(ctx, st, l.record.Load())
			}
		})
	}
	ready.Wait()
	select {
	case err := <-errs:
		l.stop()
		return nil, err
	default:
	}
	return l, nil
}

func (l *load) stop() {
	l.stopped.Store(true)
	l.wg.Wait()
	for _, w := range l.workers {
		w.close()
	}
}
