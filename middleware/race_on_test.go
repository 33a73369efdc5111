//go:build race

package middleware

// raceEnabled reports a -race build, where sync.Pool drops items at random
// and allocation counts of pooled code mean nothing.
const raceEnabled = true
