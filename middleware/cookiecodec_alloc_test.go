//go:build !race

// Allocation counts of pooled code mean nothing under -race, where
// sync.Pool drops its items at random.

package middleware

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIDCodecAllocations(t *testing.T) {
	c := newIDCodec(codecKey, 3600)
	var id [idLen]byte
	now := time.Now().Unix()
	v := c.encode("tl", id, now)
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { c.decode("tl", v, now) }), 0.0)
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { c.encode("tl", id, now) }), 1.0)
}
