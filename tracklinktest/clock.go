package tracklinktest

import (
	"sync"
	"time"
)

// Clock is a fake clock for tests: it stands still until Advance or Set
// moves it. It is safe for concurrent use. The zero Clock reads the zero
// time; NewClock starts it elsewhere.
//
// Hand its Now method to a store or middleware (Options.Now, Config.Now) and
// its Advance method to Harness.Advance.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t (its monotonic reading stripped).
func NewClock(t time.Time) *Clock {
	return &Clock{t: t.Round(0)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward when d < 0).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.Round(0)
	c.mu.Unlock()
}
