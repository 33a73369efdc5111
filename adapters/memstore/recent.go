package memstore

import (
	"cmp"
	"slices"
	"strings"
)

// recentChunk is the most orders one chunk of a recentList holds before
// it splits in two. Inserting costs a binary search over the chunks, one
// within a chunk and a move of at most recentChunk pointers, whatever the
// number of orders and their arrival order.
const recentChunk = 512

// recentList holds orders sorted by (At, OrderID) in chunks of at most
// recentChunk, each sorted, the chunks in order.
type recentList struct {
	chunks [][]*order
	n      int
}

func orderCmp(a, b *order) int {
	return cmp.Or(a.a.At.Compare(b.a.At), strings.Compare(a.a.OrderID, b.a.OrderID))
}

// insert adds o at its place. Orders mostly arrive in time order, so
// this is usually an append to the last chunk.
func (l *recentList) insert(o *order) {
	l.n++
	if len(l.chunks) == 0 {
		l.chunks = append(l.chunks, []*order{o})
		return
	}
	// the first chunk whose last order sorts after o, else the last chunk
	ci, _ := slices.BinarySearchFunc(l.chunks, o, func(c []*order, t *order) int {
		return orderCmp(c[len(c)-1], t)
	})
	ci = min(ci, len(l.chunks)-1)
	c := l.chunks[ci]
	i, _ := slices.BinarySearchFunc(c, o, orderCmp)
	c = slices.Insert(c, i, o)
	if len(c) <= recentChunk {
		l.chunks[ci] = c
		return
	}
	half := len(c) / 2
	lo := c[:half:half]
	hi := append(make([]*order, 0, recentChunk), c[half:]...)
	l.chunks[ci] = lo
	l.chunks = slices.Insert(l.chunks, ci+1, hi)
}

// newest returns up to n orders, newest first.
func (l *recentList) newest(n int) []*order {
	out := make([]*order, 0, min(n, l.n))
	for ci := len(l.chunks) - 1; ci >= 0 && len(out) < n; ci-- {
		c := l.chunks[ci]
		for i := len(c) - 1; i >= 0 && len(out) < n; i-- {
			out = append(out, c[i])
		}
	}
	return out
}
