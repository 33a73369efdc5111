package middleware

import (
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// ErrSessionBudget is reported (through OnError, rate-limited) when a
// landing that would start a new session is served untracked because its
// client key (Config.ClientKey) already started Config.NewSessionsPerMinute
// sessions in the current minute.
var ErrSessionBudget = errors.New("middleware: client key over Config.NewSessionsPerMinute; landing served untracked")

// budgetSlots is the number of counters of the new-session budget: 16 KB,
// whatever the number of client keys.
const budgetSlots = 4096

// sessionBudget counts the new sessions each client key started in the
// current minute. It keeps no key: a key counts on the counter its seeded
// hash picks, so memory is fixed whatever the number of keys, and keys
// that share a counter share its budget (a false positive: a visitor
// served untracked because another key used it up). The seed is drawn per
// process, so which keys share cannot be planned from outside. Every
// counter is reset when a new minute starts.
type sessionBudget struct {
	limit  uint32
	seed   maphash.Seed
	mu     sync.Mutex
	minute int64 // the Unix minute counts is of
	counts [budgetSlots]uint32
}

func newSessionBudget(limit int) *sessionBudget {
	return &sessionBudget{limit: uint32(min(limit, 1<<31)), seed: maphash.MakeSeed()}
}

// allow reports whether key may start one more session at now, and if so
// counts it.
func (b *sessionBudget) allow(key string, now time.Time) bool {
	i := maphash.String(b.seed, key) % budgetSlots
	minute := now.Unix() / 60
	b.mu.Lock()
	defer b.mu.Unlock()
	if minute != b.minute {
		clear(b.counts[:])
		b.minute = minute
	}
	if b.counts[i] >= b.limit {
		return false
	}
	b.counts[i]++
	return true
}
