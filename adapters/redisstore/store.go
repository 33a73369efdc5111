package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// Compile-time guards: Store implements every role of the contract.
var (
	_ tracklink.Store       = (*Store)(nil)
	_ tracklink.LedgerStore = (*Store)(nil)
	_ tracklink.ReportStore = (*Store)(nil)
)

// ErrInvalid is wrapped by the errors of calls whose input would write an
// odd key (a malformed session reference, event slug, promoter code, link
// id…). Nothing is written when it is returned.
var ErrInvalid = fmt.Errorf("redisstore: %w", tracklink.ErrInvalid)

// Store is a store of every role on Redis (tracklink.SessionStore,
// tracklink.LedgerStore, tracklink.Feed): all in one, or the session side
// of a tracklink.Compose whose ledger is elsewhere (Stamp with MarkOnly
// touches only the session's key). It is safe
// for concurrent use; it holds no state besides the client and options, so
// any number of instances may share one Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options

	orderBase string // <prefix>{o}:
	channel   string // <prefix>changes
	// split is set for clients that shard keys (Cluster, Ring): Stamp
	// then counts a visit in a second step (see Stamp).
	split bool
	// cluster is rdb when it is a Cluster client, whose slot map wrap
	// refreshes after a connection error (see wrap).
	cluster *redis.ClusterClient
}

// New returns a Store on a ready client: a *redis.Client, a
// *redis.ClusterClient, a Sentinel failover client or a
// redis.NewUniversalClient. The client's options decide how long a call
// may wait (see RecommendedOptions and the package doc).
//
// Unless opts.SessionsOnly (a session store, whose keys all expire) or
// opts.AllowUnsafeServer, New checks that the server keeps the ledger safe
// (CheckServer, on every master of a Cluster; one CONFIG GET each) and
// returns an error wrapping ErrUnsafeServer when it may lose it: eviction
// of keys without a TTL, or no append-only file. It also reports wiring
// mistakes (a nil client, a prefix with '{' or '}') as errors. With
// SessionsOnly or AllowUnsafeServer it never dials.
func New(ctx context.Context, rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New with a nil client")
	}
	opts.setDefaults()
	if !validPrefix(opts.Prefix) {
		return nil, fmt.Errorf("redisstore: Options.Prefix %q must not contain '{' or '}'", opts.Prefix)
	}
	_, single := rdb.(*redis.Client)
	cluster, _ := rdb.(*redis.ClusterClient)
	s := &Store{
		split:     !single,
		cluster:   cluster,
		rdb:       rdb,
		opts:      opts,
		orderBase: opts.Prefix + "{o}:",
		channel:   opts.Prefix + "changes",
	}
	if opts.SessionsOnly || opts.AllowUnsafeServer {
		return s, nil
	}
	if err := s.CheckServer(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Key layout, visit side:
//
//	<prefix>{s:<session>}        hash: the session's touches (at most
//	                             MaxSessionEvents events, plus "" site-wide),
//	                             its visit marks (one day per scope, at most
//	                             tracklink.MaxEventMarks) and the order its
//	                             events were landed on; one key per session,
//	                             always with a TTL, so one PEXPIRE slides all
//	                             of it and nothing of it outlives the session
//	<prefix>{e:<event>}:v:<day>  hash: source key → visits
//	<prefix>{e:<event>}:v:all    hash: source key → visits, all time
//	<prefix>{e:<event>}:days     set: days with visits
//
// Sessions spread across a cluster by session, visit counters by event
// ({e:} is the site-wide scope).

func (s *Store) sessionKey(session string) string { return s.opts.Prefix + "{s:" + session + "}" }

func (s *Store) eventTag(event string) string { return s.opts.Prefix + "{e:" + event + "}" }

// MaxSessionMarks bounds the visit marks ((event, source key, day) triples
// already counted) one session keeps: tracklink.MaxSessionMarks.
const MaxSessionMarks = tracklink.MaxSessionMarks

// MaxSessionEvents bounds the events one session keeps a touch for, its
// site-wide touch aside: tracklink.MaxSessionEvents.
const MaxSessionEvents = tracklink.MaxSessionEvents

func validScope(event string) bool { return event == "" || tracklink.ValidEvent(event) }

func invalid(op, format string, a ...any) error {
	return fmt.Errorf("redisstore: %s: %w: "+format, append([]any{op, ErrInvalid}, a...)...)
}

// wrap adds the package and operation to an error of the client. On a
// Cluster, an error that is not a reply of Redis (a refused connection, a
// timeout) may mean a master died and its replica took over: wrap asks the
// client to reload its slot map, so that the next calls go to the new
// master. go-redis reloads it by itself only on a MOVED reply (which a dead
// node never sends) or every ClusterStateReloadInterval (60 s by default),
// so without this a failover would cost a minute of errors
// (redis/go-redis#3979). ReloadState is asynchronous and coalesced: a burst
// of errors costs a few CLUSTER SLOTS calls, not one each.
func (s *Store) wrap(op string, err error) error {
	if s.cluster != nil && isConnErr(err) {
		s.cluster.ReloadState(context.Background())
	}
	return wrap(op, err)
}

func wrap(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// isConnErr reports whether err is not a reply of Redis nor the caller's
// cancellation: a network error, a timeout, a closed connection.
func isConnErr(err error) bool {
	var reply redis.Error // Redis's error replies and redis.Nil
	return err != nil && !errors.As(err, &reply) && !errors.Is(err, context.Canceled)
}

// touchPromoter returns the promoter code a touch credits, "" for none.
func touchPromoter(t tracklink.Touch) (string, bool) {
	if t.Channel != tracklink.ChannelPromoter || t.Promoter == "" || t.Promoter == tracklink.DeletedPromoter {
		return "", true
	}
	code, ok := tracklink.NormalizePromoter(t.Promoter)
	return code, ok && code == t.Promoter
}

// Stamp merges the landing into the session's touch for its event under
// st.Replaces (the script is handed the rule as values,
// tracklink.ReplaceRule, and keeps a promoter lock's end in the session's
// hash), slides the whole session's expiry and counts the visit. The session keeps
// touches of at most MaxSessionEvents events besides its site-wide one (a
// new event past the cap drops the least recently landed one, with its
// marks) and, per scope, the marks of one day (tracklink.MaxEventMarks), so
// the script's work is bounded (a few field reads and writes and string
// operations on at most a few KB) whatever the session did before. It
// counts the visit on the event (under
// OtherKey when the key is new and the event already counts visits under
// Options.MaxSources keys; Current keeps the real touch) and, for a touch
// of a registered promoter (SavePromoter), on the promoter's figures. An
// unregistered code's visits count on the event only and create no
// per-promoter keys. With st.MarkOnly it marks the visit and counts it
// nowhere (tracklink.Compose counts it on the ledger).
//
// On a single node or Sentinel (a *redis.Client) this is one EVALSHA: one
// round trip, one atomic step (a second script counts the promoter's
// visit when the session keeps an earlier touch of another promoter than
// st's, as the script is given the keys of st's promoter only). On a Cluster the session and the event's
// counters live in different slots, so Stamp runs the session script, then,
// only when a visit is newly counted, one pipeline that counts it on the
// event (and on the promoter for a promoter touch): two round trips for a
// counted visit, one otherwise. If that second step fails the visit is
// marked but not counted (the error is returned).
func (s *Store) Stamp(ctx context.Context, st tracklink.Stamp) (tracklink.StampResult, error) {
	c, t, err := s.stampCall(st)
	if err != nil {
		return tracklink.StampResult{}, err
	}
	day := tracklink.Day(t.At)
	res, err := c.script.Run(ctx, s.rdb, c.keys, c.args...).Slice()
	if err != nil {
		return tracklink.StampResult{}, s.wrap("stamp", err)
	}
	if len(res) < 2 || res[0] != int64(1) && len(res) < 3 {
		return tracklink.StampResult{}, s.wrap("stamp", errors.New("unexpected script reply"))
	}
	out := tracklink.StampResult{Current: t, Counted: res[1] == int64(1)}
	curKey, curCode := t.Key(), t.PromoterCode()
	if res[0] != int64(1) {
		v, _ := res[2].(string)
		cur, err := decodeTouch(v)
		if err != nil {
			return tracklink.StampResult{}, s.wrap("stamp", err)
		}
		if cur == nil {
			return tracklink.StampResult{}, s.wrap("stamp", errors.New("unexpected script reply"))
		}
		out.Current = *cur
		curKey, curCode, _, _ = splitTouchValue(v)
	}
	if !st.MarkOnly && out.Counted {
		var calls []scriptCall
		switch {
		case s.split:
			calls = s.countCalls(nil, t.Event, day, curKey, curCode, 1)
		case curCode != "" && curCode != t.PromoterCode():
			// the session keeps another promoter's touch than the one
			// whose keys the script was given
			calls = s.promoterVisitCall(nil, t.Event, day, curCode, 1)
		}
		if len(calls) > 0 {
			if err := execScripts(ctx, s.rdb, calls); err != nil {
				return out, s.wrap("stamp", err)
			}
		}
	}
	return out, nil
}

// stampCall checks st and returns the script call that stamps it, and its
// touch as stamped (At set).
func (s *Store) stampCall(st tracklink.Stamp) (scriptCall, tracklink.Touch, error) {
	t := st.Touch
	if err := st.Check(); err != nil {
		return scriptCall{}, t, fmt.Errorf("%w: stamp: %w", ErrInvalid, err)
	}
	key, code := t.Key(), t.PromoterCode()
	if t.At.IsZero() {
		t.At = s.opts.Now()
	}
	body, err := json.Marshal(t)
	if err != nil {
		return scriptCall{}, t, s.wrap("stamp", err)
	}
	day := tracklink.Day(t.At)
	st.Touch = t
	rule := st.ReplaceRule()
	var mask [len(rule.ByStrength)]byte
	for cs, ok := range rule.ByStrength {
		mask[cs] = '0'
		if ok {
			mask[cs] = '1'
		}
	}
	lockAt, lockEnd := "", ""
	if !rule.LockAt.IsZero() {
		lockAt = strconv.FormatInt(rule.LockAt.UnixMilli(), 10)
	}
	if end := st.LockEnd(t); !end.IsZero() {
		lockEnd = strconv.FormatInt(end.UnixMilli(), 10)
	}
	ttl := max(st.TTL.Milliseconds(), 1)
	var keys []string
	if s.split || st.MarkOnly {
		keys = []string{s.sessionKey(st.Session)}
	} else {
		tag := s.eventTag(t.Event)
		keys = []string{s.sessionKey(st.Session), tag + ":v:" + day, tag + ":v:all", tag + ":days"}
		if code != "" {
			keys = append(keys, s.promoterVisitKeys(code, day)...)
		}
	}
	fp := keyPrint(key)
	return scriptCall{stampScript, keys, []any{t.Event, touchValue(t.Strength(), fp, lockEnd, code, key, body), ttl, day, key, code,
		string(mask[:]), s.opts.maxSources(), lockAt, fp}}, t, nil
}

// keyPrint returns the fingerprint a session's visit marks hold for a
// source key: the first 16 hex digits of its SHA-1.
func keyPrint(key string) string {
	sum := sha1.Sum([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// touchValue encodes a touch as the session hash keeps it (c:<event>), so
// that the stamp script reads what it needs without decoding JSON:
//
//	<strength, one digit><fingerprint, 16 hex digits><lock end, Unix ms,
//	"" for none> <promoter code, "" for none> <len(key)> <key><touch JSON>
//
// The strength and the fingerprint sit at fixed offsets; a promoter code
// holds no space (tracklink.NormalizePromoter) and the key is
// length-prefixed, so any key decodes.
func touchValue(strength tracklink.Strength, fp, lockEnd, code, key string, body []byte) string {
	b := make([]byte, 0, 1+len(fp)+len(lockEnd)+len(code)+len(key)+len(body)+8)
	b = strconv.AppendInt(b, int64(strength), 10)
	b = append(b, fp...)
	b = append(b, lockEnd...)
	b = append(b, ' ')
	b = append(b, code...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(key)), 10)
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, body...)
	return string(b)
}

// splitTouchValue returns the source key, promoter code and touch JSON of
// a value touchValue encoded, and whether it is one.
func splitTouchValue(v string) (key, code, body string, ok bool) {
	const head = 1 + 16
	if len(v) < head {
		return "", "", "", false
	}
	rest := v[head:]
	_, rest, ok1 := strings.Cut(rest, " ") // lock end
	code, rest, ok2 := strings.Cut(rest, " ")
	n, rest, ok3 := strings.Cut(rest, " ")
	kl, err := strconv.Atoi(n)
	if !ok1 || !ok2 || !ok3 || err != nil || kl < 0 || kl > len(rest) {
		return "", "", "", false
	}
	return rest[:kl], code, rest[kl:], true
}

// countCalls appends the scripts that count n visits of key (and of
// promoter code, "" for none) on event's day: the event's counters and the
// promoter's live in other slots than the session, and than each other on
// a Cluster. The promoter's script checks the registry itself (same {o}
// slot).
func (s *Store) countCalls(calls []scriptCall, event, day, key, code string, n int64) []scriptCall {
	tag := s.eventTag(event)
	calls = append(calls, scriptCall{countScript, []string{tag + ":v:" + day, tag + ":v:all", tag + ":days"}, []any{key, day, s.opts.maxSources(), n}})
	if code != "" {
		calls = s.promoterVisitCall(calls, event, day, code, n)
	}
	return calls
}

// promoterVisitKeys returns the keys a promoter's visits count on:
// <base>promoters, then its p:<code>:all, :ev, :d:<day>, :days and :ed.
func (s *Store) promoterVisitKeys(code, day string) []string {
	kp, _, _, _ := s.regKeys()
	return []string{kp, s.promoterKey(code, "all"), s.promoterKey(code, "ev"), s.promoterKey(code, "d:"+day),
		s.promoterKey(code, "days"), s.promoterKey(code, "ed")}
}

// promoterVisitCall appends the script that counts n visits of a
// registered promoter code on event's day.
func (s *Store) promoterVisitCall(calls []scriptCall, event, day, code string, n int64) []scriptCall {
	return append(calls, scriptCall{promoterVisitScript, s.promoterVisitKeys(code, day), []any{code, event, day, n}})
}

// CountVisits counts visits a separate session store decided on
// (tracklink.Compose), as Stamp counts its own: one pipeline of scripts
// (one round trip on a single node; one per node on a Cluster), each
// atomic on its own. Every entry is checked before anything is sent. If
// the pipeline fails part way, some entries may have been counted and the
// error is returned (a caller's retry may count those twice: visits are
// estimates, sales are exact).
func (s *Store) CountVisits(ctx context.Context, visits []tracklink.VisitCount) error {
	if s.opts.SessionsOnly {
		return fmt.Errorf("%w: count visits", ErrSessionsOnly)
	}
	if len(visits) == 0 {
		return nil
	}
	calls := make([]scriptCall, 0, len(visits))
	for _, v := range visits {
		if err := v.Check(); err != nil {
			return fmt.Errorf("%w: count visits: %w", ErrInvalid, err)
		}
		calls = s.countCalls(calls, v.Event, v.Day, v.Key, v.Promoter, v.N)
	}
	if err := execScripts(ctx, s.rdb, calls); err != nil {
		return s.wrap("count visits", err)
	}
	return nil
}

// Touches reads the session's event touch and site-wide touch with one
// HMGET (both live in the session's hash). For event "" the event touch is
// nil and the site-wide touch is returned.
func (s *Store) Touches(ctx context.Context, session, event string) (eventTouch, siteTouch *tracklink.Touch, err error) {
	if !tracklink.ValidSession(session) {
		return nil, nil, invalid("touches", "session reference is not a tracklink reference")
	}
	if !validScope(event) {
		return nil, nil, invalid("touches", "event slug %q is not [a-z0-9-]{1,64}", clip(event))
	}
	// t:<ev> is where a session of the earlier layout keeps its touch JSON:
	// such a session is read until its next Stamp starts it afresh, so a
	// checkout across an upgrade keeps its attribution.
	vals, err := s.rdb.HMGet(ctx, s.sessionKey(session), "c:"+event, "c:", "t:"+event, "t:").Result()
	if err != nil {
		return nil, nil, s.wrap("touches", err)
	}
	if event != "" {
		if eventTouch, err = decodeTouchOr(vals[0], vals[2]); err != nil {
			return nil, nil, s.wrap("touches", err)
		}
	}
	if siteTouch, err = decodeTouchOr(vals[1], vals[3]); err != nil {
		return nil, nil, s.wrap("touches", err)
	}
	return eventTouch, siteTouch, nil
}

// decodeTouchOr decodes the touch value v, or when there is none the
// touch JSON old of a session of the earlier layout.
func decodeTouchOr(v, old any) (*tracklink.Touch, error) {
	if _, ok := v.(string); ok {
		return decodeTouch(v)
	}
	body, ok := old.(string)
	if !ok {
		return nil, nil
	}
	var t tracklink.Touch
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, fmt.Errorf("decode stored touch of the earlier layout: %w", err)
	}
	return &t, nil
}

// decodeTouch turns an HMGET value (touchValue) into a touch; a missing
// field is nil.
func decodeTouch(v any) (*tracklink.Touch, error) {
	s, ok := v.(string)
	if !ok {
		return nil, nil
	}
	_, _, body, ok := splitTouchValue(s)
	if !ok {
		return nil, errors.New("decode stored touch: not a touch value")
	}
	var t tracklink.Touch
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, fmt.Errorf("decode stored touch: %w", err)
	}
	return &t, nil
}

// clip shortens untrusted input quoted in an error message.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
