package redisstore

import (
	"context"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// The Lua scripts. On a Redis Cluster each script touches keys of a single
// hash slot: a session's {s:<session>} hash, an event's {e:<event>} visit
// counters, or the order side's {o} keys. Every script receives every key
// it touches in KEYS, named in Go by the Store's key-name methods (see
// order_scripts.go for how keys that depend on stored data are named): a
// Cluster moves a slot key by key, and a script that touched an undeclared
// key mid-migration would fail half-way.
//
// Numbers that may be large (revenue) travel as strings and are only ever
// handed to HINCRBY as strings: Lua's numbers are doubles and would print
// big values in exponent form.

// visitLib counts a visit on the event side and on the promoter's figures.
//
// countEvent counts n visits of key on the event's all-time and day
// hashes. The all-time hash holds at most max keys (max <= 0: no cap;
// Options.MaxSources): a key it does not hold yet counts under the
// overflow key OtherKey once it is full. The all-time HINCRBY comes first
// and tells whether the field is new (it replies n; counts are positive),
// so a known key costs no read: only a new key's HLEN is checked, and a
// key past the cap has its just-created field taken back.
//
// The day goes into the event's days only when the visit creates the
// key's field in the day's hash (HINCRBY replies n): every field of a
// day's hash is created here or by foldScript (which moves counts within
// a hash that already exists), so the day was added when the hash got its
// first field, and nothing removes a day from the set.
const visitLib = `
local otherKey = '` + OtherKey + `'
local function countEvent(vday, vall, days, key, day, max, n)
  if redis.call('HINCRBY', vall, key, n) == n and max > 0 and key ~= otherKey and
    redis.call('HLEN', vall) > max then
    redis.call('HDEL', vall, key)
    key = otherKey
    redis.call('HINCRBY', vall, key, n)
  end
  if redis.call('HINCRBY', vday, key, n) == n then
    redis.call('SADD', days, day)
  end
end
-- countPromoter counts n visits on a registered promoter's figures, on
-- the keys KEYS[i..i+5] (<base>promoters, <base>p:<code>:all, :ev,
-- :d:<day>, :days, :ed); an unregistered code gets no keys of its own.
local function countPromoter(i, code, ev, day, n)
  if redis.call('HEXISTS', KEYS[i], code) == 0 then return 0 end
  redis.call('HINCRBY', KEYS[i + 1], 'visits', n)
  redis.call('HINCRBY', KEYS[i + 2], ev .. '|visits', n)
  redis.call('HINCRBY', KEYS[i + 3], 'visits', n)
  redis.call('SADD', KEYS[i + 4], day)
  redis.call('SADD', KEYS[i + 5], ev .. ' ' .. day)
  return 1
end
`

// stampScript merges a touch into the session, marks the visit and slides
// the whole session's expiry. On a single node (or Sentinel) it also counts
// the visit (KEYS[2..4] given); on a Cluster the caller counts it with
// countScript and promoterVisitScript when the reply says so.
//
//	KEYS[1] <prefix>{s:<session>}  hash, per scope <ev> ("" site-wide):
//	                               c:<ev> the touch as stampCall encodes
//	                               it (touchValue: strength, source key
//	                               fingerprint, lock end, promoter code,
//	                               source key, touch JSON), m:<ev> visit
//	                               marks; and q, the events (not "") least
//	                               recently landed first, each followed by
//	                               a space, n, how many q lists
//	KEYS[2] <prefix>{e:<ev>}:v:<day>, KEYS[3] <prefix>{e:<ev>}:v:all,
//	KEYS[4] <prefix>{e:<ev>}:days  (optional)
//	KEYS[5..10] <base>promoters, <base>p:<code>:all, :ev, :d:<day>, :days,
//	        :ed of the promoter code ARGV[6] (optional, with KEYS[2..4])
//	ARGV    event, touch value (touchValue), ttl ms, day, source key,
//	        promoter code ("" if none), replace mask, max sources (<= 0:
//	        no cap), lock at (Unix ms, "" for none), source key
//	        fingerprint (keyPrint)
//
// The script does not derive the replace rule (tracklink.Stamp.Replaces):
// Go hands it as values (tracklink.ReplaceRule). The replace mask has one
// '1' or '0' per strength of the current touch, weakest first: whether
// this touch replaces a current touch of that strength that no lock
// holds. When lock at is given, a current touch of another promoter code
// than ARGV[6] whose lock end is greater is kept.
//
// Go computes what it can: the touch value and the source key's
// fingerprint come as ARGV, so the script does no JSON or hashing work; a
// kept touch's fingerprint, code and key are read from its value (the
// fingerprint at a fixed place, the rest only when needed). A new visitor
// costs one HMGET, one HSET, one PEXPIRE and the counting (countEvent: two
// HINCRBY, plus an HLEN for a key new to the event and an SADD for a key's
// first visit of the day); a reload that changes nothing, HMGET and
// PEXPIRE. Before this layout a new visitor cost eleven commands and a
// SHA-1 in Lua: Redis's time per new-visitor stamp went from a median of
// 36 µs to 27 µs (SLOWLOG, both scripts interleaved in one run on a
// loaded 2-core VM; the bare EVALSHA of the same arguments took 4-5 µs).
//
// Every step is bounded whatever the session did before: the hash holds
// at most max events scopes plus the site-wide one (a new event past the
// cap drops the first of q, its two fields HDEL'd), q is at most max
// events slugs (about 4 KB) and m:<ev> is the day (YYYY-MM-DD) followed by
// at most max marks 16-hex-digit fingerprints of the source keys counted
// that day. No command walks the hash.
//
// A session hash of the earlier layout (fields t:<ev>, s:, k:, p:, l: and
// o; seen by its o or t: field) is deleted and the session starts afresh:
// sessions are short-lived, so each one still live restarts once.
//
// On a single node the promoter's figures are counted only when the
// promoters hash has the code (outside cluster mode a script may touch
// keys of any hash tag), and only on the keys given: when the session
// keeps a touch of another promoter than ARGV[6], the caller reads that
// code from the reply and counts it with promoterVisitScript.
//
// Reply {replaced, counted[, current touch value when not replaced]}.
var stampScript = redis.NewScript(visitLib + `
local maxEvents, maxMarks = ` + strconv.Itoa(MaxSessionEvents) + `, ` + strconv.Itoa(tracklink.MaxEventMarks) + `
local sk, ev, day = KEYS[1], ARGV[1], ARGV[4]
local cf, mf = 'c:' .. ev, 'm:' .. ev
local cur = redis.call('HMGET', sk, cf, mf, 'q', 'n', 'o', 't:')
if cur[5] or cur[6] then
  redis.call('DEL', sk)
  cur = {}
end
local c = cur[1]
local replace = 1
if c then
  local lockAt, le, cp = tonumber(ARGV[9]), nil, nil
  if lockAt then
    le, cp = string.match(c, '^(%d*) (%S*) ', 18)
  end
  if cp and cp ~= '' and cp ~= ARGV[6] and (tonumber(le) or 0) > lockAt then
    replace = 0
  else
    local cs = tonumber(string.sub(c, 1, 1)) or 0
    replace = (string.sub(ARGV[7], cs + 1, cs + 1) == '1') and 1 or 0
  end
end
local w = {}
-- q: move ev to the end, dropping the least recently landed events first
-- when ev is new and the session holds max events
if ev ~= '' then
  local q = cur[3] or ''
  local padded = ' ' .. q
  local i = c and string.find(padded, ' ' .. ev .. ' ', 1, true)
  if i then
    if i + #ev + 1 < #padded then
      w[#w + 1], w[#w + 2] = 'q', string.sub(padded, 2, i) .. string.sub(padded, i + #ev + 2) .. ev .. ' '
    end
  else
    local n = tonumber(cur[4]) or 0
    while n >= maxEvents and n > 0 do
      local old = string.match(q, '^(%S+) ')
      if not old then
        q, n = '', 0
        break
      end
      redis.call('HDEL', sk, 'c:' .. old, 'm:' .. old)
      q = string.sub(q, #old + 2)
      n = n - 1
    end
    w[#w + 1], w[#w + 2], w[#w + 3], w[#w + 4] = 'q', q .. ev .. ' ', 'n', n + 1
  end
end
local fp = ARGV[10]
if replace == 1 then
  w[#w + 1], w[#w + 2] = cf, ARGV[2]
else
  fp = string.sub(c, 2, 17)
end
-- m:<ev>: the marks of one day, at most max marks
local marks = cur[2]
local counted = 0
if not marks or string.sub(marks, 1, 10) ~= day then
  marks, counted = day .. fp, 1
else
  counted = 1
  for j = 11, #marks, 16 do
    if string.sub(marks, j, j + 15) == fp then
      counted = 0
      break
    end
  end
  if counted == 1 then
    if (#marks - 10) / 16 >= maxMarks then
      marks = day .. fp
    else
      marks = marks .. fp
    end
  end
end
if counted == 1 then
  w[#w + 1], w[#w + 2] = mf, marks
end
if #w > 0 then
  redis.call('HSET', sk, unpack(w))
end
if counted == 1 and #KEYS >= 4 then
  local key, code = ARGV[5], ARGV[6]
  if replace == 0 then
    local _, cp, kl, p = string.match(c, '^(%d*) (%S*) (%d+) ()', 18)
    key, code = p and string.sub(c, p, p + tonumber(kl) - 1), cp
  end
  if key then
    countEvent(KEYS[2], KEYS[3], KEYS[4], key, day, tonumber(ARGV[8]), 1)
    if code ~= '' and code == ARGV[6] and #KEYS >= 10 then
      countPromoter(5, code, ev, day, 1)
    end
  end
end
redis.call('PEXPIRE', sk, ARGV[3])
if replace == 1 then
  return {1, counted}
end
return {0, counted, c}
`)

// countScript counts n visits on the event side (Cluster mode, and
// CountVisits).
//
//	KEYS <prefix>{e:<ev>}:v:<day>, …:v:all, …:days
//	ARGV key, day, max sources, n
var countScript = redis.NewScript(visitLib + `
countEvent(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
return 1
`)

// savePromoterScript replaces a promoter and its promo codes, refusing a
// promo code that belongs to another promoter (reply {0, promo, owner}).
// The caller names the group keys from the registration it read (ARGV[3],
// "" for none) and the new one; if the stored registration is another,
// the script writes nothing and replies {-2, stored JSON} ("" for none).
//
//	KEYS[1] <base>promoters  hash code → JSON
//	KEYS[2] <base>promos     hash promo code → promoter code
//	KEYS[3] <base>groups     set
//	KEYS[4] <base>regver     registry version (bumped)
//	then rankLib's keys: the code's totals, the groups of both
//	registrations
//	ARGV    rankLib's map, code, JSON, JSON read, number of promo codes
//	        n, n promo codes, groups…
var savePromoterScript = redis.NewScript(rankLib + `
local code = ARGV[1]
local n = tonumber(ARGV[4])
local old = redis.call('HGET', KEYS[1], code)
local before, after = groupsOf(old), groupsOf(ARGV[2])
if (old or '') ~= ARGV[3] or not covers(before) or not covers(after) then
  return {-2, old or ''}
end
for i = 5, 4 + n do
  local owner = redis.call('HGET', KEYS[2], ARGV[i])
  if owner and owner ~= code then
    return {0, ARGV[i], owner}
  end
end
-- nothing was written above this line
if old then
  local ok, p = pcall(cjson.decode, old)
  if ok and type(p) == 'table' and type(p.promo_codes) == 'table' then
    for _, pc in ipairs(p.promo_codes) do
      if redis.call('HGET', KEYS[2], pc) == code then
        redis.call('HDEL', KEYS[2], pc)
      end
    end
  end
end
redis.call('HSET', KEYS[1], code, ARGV[2])
for i = 5, 4 + n do
  redis.call('HSET', KEYS[2], ARGV[i], code)
end
for i = 5 + n, #ARGV do
  redis.call('SADD', KEYS[3], ARGV[i])
end
regMove(code, before, after)
redis.call('INCR', KEYS[4])
return {1}
`)

// groupScript applies a group rename or deletion to the promoters read at
// registry version ARGV[4], or does nothing (reply 0) if the registry
// changed since. Every registry write bumps the version, so the
// registrations the caller named the group keys from are the stored ones.
//
//	KEYS[1] <base>promoters, KEYS[2] <base>groups, KEYS[3] <base>regver,
//	then rankLib's keys: each edited promoter's totals, the groups of its
//	registration before and after, and the group from
//	ARGV    rankLib's map, op ("rename" or "delete"), from, to, version,
//	        then pairs of promoter code and new JSON
var groupScript = redis.NewScript(rankLib + `
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[4] then
  return 0
end
local moves = {}
for i = 5, #ARGV, 2 do
  local before, after = regGroups(KEYS[1], ARGV[i]), groupsOf(ARGV[i + 1])
  if not covers(before) or not covers(after) then return 0 end
  moves[#moves + 1] = {ARGV[i], before, after}
end
if ARGV[2] ~= '' and not covers({ARGV[2]}) then return 0 end
-- nothing was written above this line
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for _, m in ipairs(moves) do
  regMove(m[1], m[2], m[3])
end
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[2] ~= '' then
  dropGroup(ARGV[2])
end
if ARGV[1] == 'rename' then
  redis.call('SADD', KEYS[2], ARGV[3])
end
redis.call('INCR', KEYS[3])
return 1
`)

// deletePromoterScript removes a promoter and folds its sales figures into
// the deleted promoter's, on the order side. The caller read the
// promoter's registration, order ids, (event, day) pairs and days, and
// rewrote the attributions; if any of these changed since, the script
// does nothing and replies 0 so the caller reads again.
//
// The caller folded the visit counters of the (event, day) pairs it read
// first.
//
//	KEYS[1] <base>promoters, KEYS[2] <base>promos, KEYS[3] <base>regver,
//	KEYS[4..8] <base>p:<code>:all, :ev, :orders, :days, :ed; then
//	<base>o:<id> of each order id; then <base>ev:<e>:d:<d>, ev:<e>:all,
//	ev:<e>:keys of each pair; then <base>p:<code>:d:<d> of each day;
//	then rankLib's keys (the code's totals, its registration's groups)
//	ARGV    rankLib's map, code, deleted code, registration JSON read (""
//	        for none), number of order ids, of pairs, of days; then
//	        triples of order id, JSON read ("" when missing), JSON
//	        rewritten; then the pairs; then the days
var deletePromoterScript = redis.NewScript(rankLib + `
local code, del, reg = ARGV[1], ARGV[2], ARGV[3]
local nid, ned, nday = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ai, ae, ad = 7, 7 + 3 * nid, 7 + 3 * nid + ned
local ko, ke, kd = 8, 8 + nid, 8 + nid + 3 * ned
if (redis.call('HGET', KEYS[1], code) or '') ~= reg or
  redis.call('SCARD', KEYS[6]) ~= nid or redis.call('SCARD', KEYS[8]) ~= ned or
  redis.call('SCARD', KEYS[7]) ~= nday then
  return 0
end
for j = 1, nid do
  local i = ai + 3 * (j - 1)
  if redis.call('SISMEMBER', KEYS[6], ARGV[i]) == 0 or
    (redis.call('HGET', KEYS[ko + j], 'a') or '') ~= ARGV[i + 1] then
    return 0
  end
end
for j = 1, ned do
  if redis.call('SISMEMBER', KEYS[8], ARGV[ae + j - 1]) == 0 then return 0 end
end
for j = 1, nday do
  if redis.call('SISMEMBER', KEYS[7], ARGV[ad + j - 1]) == 0 then return 0 end
end
local groups = groupsOf(reg)
if not covers(groups) then return 0 end
-- nothing was written above this line
local src, dst = 'promoter|' .. code, 'promoter|' .. del
for j = 1, nid do
  local i = ai + 3 * (j - 1)
  if ARGV[i + 1] ~= '' then
    local o = KEYS[ko + j]
    redis.call('HSET', o, 'a', ARGV[i + 2], 'p', '')
    -- its figures move with the fold only when they count under the code
    if redis.call('HGET', o, 'k') == src then
      redis.call('HSET', o, 'k', dst)
    end
  end
end
regMove(code, groups, {})
local fields = redis.call('HKEYS', KEYS[4])
local function fold(h)
  for _, f in ipairs(fields) do
    local v = redis.call('HGET', h, src .. '|' .. f)
    if v then
      redis.call('HINCRBY', h, dst .. '|' .. f, v)
      redis.call('HDEL', h, src .. '|' .. f)
    end
  end
end
local evs = {}
for j = 1, ned do
  local k = ke + 3 * (j - 1)
  fold(KEYS[k + 1])
  if not evs[KEYS[k + 2]] then
    evs[KEYS[k + 2]] = true
    fold(KEYS[k + 2])
    if redis.call('SREM', KEYS[k + 3], src) == 1 then
      redis.call('SADD', KEYS[k + 3], dst)
    end
  end
end
for j = 1, nday do
  redis.call('DEL', KEYS[kd + j])
end
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
if reg ~= '' then
  local ok, p = pcall(cjson.decode, reg)
  if ok and type(p) == 'table' and type(p.promo_codes) == 'table' then
    for _, pc in ipairs(p.promo_codes) do
      if redis.call('HGET', KEYS[2], pc) == code then
        redis.call('HDEL', KEYS[2], pc)
      end
    end
  end
  redis.call('HDEL', KEYS[1], code)
end
redis.call('INCR', KEYS[3])
return 1
`)

// forgetOverruledScript rewrites one attribution whose overruled touch
// named a deleted promoter code, if it is still the one the caller read,
// and takes it off the code's overruled set.
//
//	KEYS[1] <base>o:<id>, KEYS[2] <base>p:<code>:ovr
//	ARGV    order id, JSON read ("" when missing), JSON rewritten ("" to
//	        leave it)
var forgetOverruledScript = redis.NewScript(`
if (redis.call('HGET', KEYS[1], 'a') or '') ~= ARGV[2] then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'a', ARGV[3])
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`)

// foldScript moves one hash field's count onto another (visit side).
//
//	KEYS[1] hash, ARGV from field, to field
var foldScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[2], v)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`)

// scriptCall is one script run queued by execScripts.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// execScripts runs the calls as EVALSHA in one pipeline (one round trip,
// or one per node on a Cluster). Scripts queued in a pipeline go with no
// EVAL fallback, so the calls that failed with NOSCRIPT (first use, SCRIPT
// FLUSH, a node that is new or was just promoted: replicas do not cache
// scripts) run once more with EVAL, which also caches them there. Only
// those run again: a script that got NOSCRIPT did not run, while the
// others of the pipeline did and must not run twice (on a Cluster the
// calls go to different nodes, whose caches differ).
func execScripts(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall) error {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(calls))
	for i, c := range calls {
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	var again []scriptCall
	for i, c := range cmds {
		switch e := c.Err(); {
		case e == nil || errors.Is(e, redis.Nil):
		case redis.HasErrorPrefix(e, "NOSCRIPT"):
			again = append(again, calls[i])
		default:
			return e
		}
	}
	if len(again) == 0 {
		return err
	}
	pipe = rdb.Pipeline()
	for _, c := range again {
		c.script.Eval(ctx, pipe, c.keys, c.args...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	return nil
}
