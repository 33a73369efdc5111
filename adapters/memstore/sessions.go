package memstore

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	"github.com/tracklink/tracklink"
)

// sessionShards is the number of independently locked parts the sessions
// are spread over, by a seeded hash of the session reference: stamps of
// different sessions rarely wait for each other.
const sessionShards = 64

// sessionKey is a session reference (tracklink.ValidSession: exactly
// tracklink.SessionLen bytes) as a map key without a pointer.
type sessionKey [tracklink.SessionLen]byte

// slot says where a session's record lives in its shard's arena and when
// the session expires. It holds no pointer, so neither do the shard maps:
// the garbage collector has nothing to scan in the sessions held, however
// many there are (the arenas are byte slices, never scanned either).
type slot struct {
	expSec  int64 // expiry, Unix seconds
	off     int64 // offset of the record in the arena
	expNsec int32 // expiry, nanoseconds
	n, room int32 // record length, bytes reserved for it at off
}

func (sl slot) expires() time.Time { return time.Unix(sl.expSec, int64(sl.expNsec)) }

// shard is one part of the sessions: its own lock, map and arena.
//
// A session's record is, in its shard's arena: uvarint stamps (the
// stamps applied, ordering the scopes' last landings), then each scope as
// uvarint length + body, the body being: event, uvarint last (stamps at
// its latest landing), day of its marks, one byte n and n 8-byte marks,
// the promoter lock end, then the touch (see appendTouch; its Event is the
// scope's). Strings are uvarint length + bytes.
type shard struct {
	mu      sync.RWMutex
	m       map[sessionKey]slot
	arena   []byte
	garbage int    // arena bytes no slot reserves
	buf     []byte // scratch for the record being written, under mu
}

// compactMin is the arena size below which a shard never compacts.
const compactMin = 1 << 16

// put stores rec as the record of k (whose slot was old when had),
// expiring at exp. Callers hold sh.mu.
func (sh *shard) put(k sessionKey, old slot, had bool, rec []byte, exp time.Time) {
	sl := old
	sl.expSec, sl.expNsec = exp.Unix(), int32(exp.Nanosecond())
	if had && int(old.room) >= len(rec) {
		copy(sh.arena[old.off:], rec)
		sl.n = int32(len(rec))
		sh.m[k] = sl
		return
	}
	if had {
		sh.garbage += int(old.room)
	}
	slack := len(rec) / 4 // room for a landing on a few more scopes
	sl.off, sl.n, sl.room = int64(len(sh.arena)), int32(len(rec)), int32(len(rec)+slack)
	sh.arena = append(sh.arena, rec...)
	sh.arena = append(sh.arena, make([]byte, slack)...)
	sh.m[k] = sl
	sh.maybeCompact()
}

// drop forgets the session k. Callers hold sh.mu.
func (sh *shard) drop(k sessionKey, sl slot) {
	sh.garbage += int(sl.room)
	delete(sh.m, k)
}

// maybeCompact copies the live records into a fresh arena once at least
// half of it is garbage, so an arena stays within about twice its live
// records and compacting costs O(1) amortised per byte written. Callers
// hold sh.mu.
func (sh *shard) maybeCompact() {
	if len(sh.arena) < compactMin || sh.garbage < len(sh.arena)/2 {
		return
	}
	live := len(sh.arena) - sh.garbage
	arena := make([]byte, 0, live+live/4)
	for k, sl := range sh.m {
		off := len(arena)
		arena = append(arena, sh.arena[sl.off:sl.off+int64(sl.room)]...)
		sl.off = int64(off)
		sh.m[k] = sl
	}
	sh.arena, sh.garbage = arena, 0
}

// record returns the bytes of the record in sl. Callers hold sh.mu.
func (sh *shard) record(sl slot) []byte { return sh.arena[sl.off : sl.off+int64(sl.n)] }

// shardOf returns the shard of the session ref and its key.
func (s *Store) shardOf(ref string) (*shard, sessionKey) {
	var k sessionKey
	copy(k[:], ref)
	return &s.shards[maphash.String(s.shardSeed, ref)%sessionShards], k
}

// scopeView is one scope of a parsed record: its event and latest
// landing, and its whole encoding (body, without the length prefix).
type scopeView struct {
	event []byte
	last  uint64
	body  []byte
}

// parseRecord splits a record into its stamps and its scopes, appended to
// views. A record it cannot read (never written so) reads as empty.
func parseRecord(rec []byte, views []scopeView) (uint64, []scopeView) {
	r := reader{b: rec}
	stamps := r.uvarint()
	for !r.bad && r.i < len(r.b) {
		body := r.bytes()
		br := reader{b: body}
		ev := br.bytes()
		last := br.uvarint()
		if r.bad || br.bad {
			return 0, views[:0]
		}
		views = append(views, scopeView{event: ev, last: last, body: body})
	}
	if r.bad {
		return 0, views[:0]
	}
	return stamps, views
}

// decodeScope decodes a scope body of event, appending its marks to marks
// (a buffer of the caller's); day is the day the marks are likely of, kept
// rather than copied when they are.
func decodeScope(event string, body []byte, day string, marks []uint64) scope {
	r := reader{b: body}
	r.bytes() // event
	var sc scope
	sc.last = r.uvarint()
	if d := r.bytes(); string(d) == day {
		sc.day = day
	} else {
		sc.day = string(d)
	}
	sc.marks = marks[:0]
	for range int(r.byte()) {
		sc.marks = append(sc.marks, r.uint64())
	}
	sc.lock = r.time()
	sc.touch = r.touch(event)
	if r.bad {
		return scope{}
	}
	return sc
}

// appendScope appends the encoding of sc (length prefix and body) to b.
func appendScope(b []byte, event string, sc *scope) []byte {
	start := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen32)...) // length, filled below
	bodyAt := len(b)
	b = appendStr(b, event)
	b = binary.AppendUvarint(b, sc.last)
	b = appendStr(b, sc.day)
	b = append(b, byte(len(sc.marks)))
	for _, m := range sc.marks {
		b = binary.LittleEndian.AppendUint64(b, m)
	}
	b = appendTime(b, sc.lock)
	b = appendTouch(b, sc.touch)
	// move the body right after its actual length prefix
	n := len(b) - bodyAt
	var pre [binary.MaxVarintLen32]byte
	p := binary.PutUvarint(pre[:], uint64(n))
	copy(b[start:], pre[:p])
	copy(b[start+p:], b[bodyAt:])
	return b[:start+p+n]
}

// appendView appends a scope kept as it was.
func appendView(b []byte, v scopeView) []byte {
	b = binary.AppendUvarint(b, uint64(len(v.body)))
	return append(b, v.body...)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime appends t: a zone byte (0 the zero time, 1 UTC, 2 Local, 3
// another zone, then its name and offset), Unix seconds and nanoseconds.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	switch loc := t.Location(); loc {
	case time.UTC:
		b = append(b, 1)
	case time.Local:
		b = append(b, 2)
	default:
		name, off := t.Zone()
		b = append(b, 3)
		b = appendStr(b, name)
		b = binary.AppendVarint(b, int64(off))
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// appendTouch appends the fields of t but Event (the scope's).
func appendTouch(b []byte, t tracklink.Touch) []byte {
	for _, s := range [...]string{
		string(t.Channel), t.Source, t.Promoter,
		t.UTM.Source, t.UTM.Medium, t.UTM.Campaign, t.UTM.Content, t.UTM.Term,
		t.ClickID, t.ReferrerHost, t.Path, t.Evidence,
	} {
		b = appendStr(b, s)
	}
	passive := byte(0)
	if t.Passive {
		passive = 1
	}
	b = append(b, passive)
	return appendTime(b, t.At)
}

// reader reads a record; any read past its end sets bad.
type reader struct {
	b   []byte
	i   int
	bad bool
	s   string // the touch's bytes as one string (reader.touch)
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[min(r.i, len(r.b)):])
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.i += n
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b[min(r.i, len(r.b)):])
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.i += n
	return v
}

func (r *reader) byte() byte {
	if r.i >= len(r.b) {
		r.bad = true
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *reader) uint64() uint64 {
	if len(r.b)-r.i < 8 {
		r.bad = true
		return 0
	}
	r.i += 8
	return binary.LittleEndian.Uint64(r.b[r.i-8:])
}

// span reads a length-prefixed string and returns where its bytes are.
func (r *reader) span() (int, int) {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)-r.i) {
		r.bad = true
		return r.i, r.i
	}
	r.i += int(n)
	return r.i - int(n), r.i
}

func (r *reader) bytes() []byte {
	from, to := r.span()
	return r.b[from:to]
}

// str reads a string out of r.s, the record's bytes as a string.
func (r *reader) str() string {
	from, to := r.span()
	return r.s[from:to]
}

// time reads a time written by appendTime.
func (r *reader) time() time.Time {
	var loc *time.Location
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
		loc = time.UTC
	case 2:
		loc = time.Local
	default:
		from, to := r.span()
		loc = time.FixedZone(string(r.b[from:to]), int(r.varint()))
	}
	sec := r.varint()
	nsec := r.uvarint()
	if r.bad || nsec >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).In(loc)
}

// touch reads the touch of a scope of event: the rest of the body, whose
// strings share one allocation.
func (r *reader) touch(event string) tracklink.Touch {
	tr := reader{b: r.b[min(r.i, len(r.b)):]}
	tr.s = string(tr.b)
	var t tracklink.Touch
	t.Channel = tracklink.Channel(tr.str())
	t.Source, t.Promoter = tr.str(), tr.str()
	t.UTM.Source, t.UTM.Medium, t.UTM.Campaign, t.UTM.Content, t.UTM.Term = tr.str(), tr.str(), tr.str(), tr.str(), tr.str()
	t.ClickID, t.ReferrerHost, t.Path, t.Evidence = tr.str(), tr.str(), tr.str(), tr.str()
	t.Passive = tr.byte() == 1
	t.At = tr.time()
	t.Event = event
	r.i += tr.i
	r.bad = r.bad || tr.bad
	return t
}
