package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
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
// capKey returns the key a visit counts under: key itself when the event's
// all-time visit hash has it or holds fewer than max fields (max <= 0: no
// cap), else the overflow key (Options.MaxSources, OtherKey).
const visitLib = `
local otherKey = '` + OtherKey + `'
local function capKey(vall, key, max)
  if max <= 0 or redis.call('HEXISTS', vall, key) == 1 then return key end
  if redis.call('HLEN', vall) < max then return key end
  return otherKey
end
local function countEvent(vday, vall, days, key, day, max, n)
  key = capKey(vall, key, max)
  redis.call('HINCRBY', vday, key, n)
  redis.call('HINCRBY', vall, key, n)
  redis.call('SADD', days, day)
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
//	                               t:<ev> touch JSON, s:<ev> strength,
//	                               k:<ev> source key, p:<ev> promoter code,
//	                               m:<ev> visit marks, l:<ev> promoter lock
//	                               end (Unix ms; only while one was set);
//	                               and o, the events (not "") least
//	                               recently landed first, each followed by
//	                               a space
//	KEYS[2] <prefix>{e:<ev>}:v:<day>, KEYS[3] <prefix>{e:<ev>}:v:all,
//	KEYS[4] <prefix>{e:<ev>}:days  (optional)
//	KEYS[5..10] <base>promoters, <base>p:<code>:all, :ev, :d:<day>, :days,
//	        :ed of the promoter code ARGV[8] (optional, with KEYS[2..4])
//	ARGV    event, touch JSON, strength, unused, ttl ms, day, key,
//	        promoter code ("" if none), replace mask, max events, max
//	        marks per scope, max sources (<= 0: no cap), lock at (Unix
//	        ms, "" for none), lock end of this touch (Unix ms, "" for none)
//
// The script does not derive the replace rule (tracklink.Stamp.Replaces):
// Go hands it as values (tracklink.ReplaceRule). The replace mask has one
// '1' or '0' per strength of the current touch, weakest first: whether
// this touch replaces a current touch of that strength that no lock
// holds. When lock at is given, a current touch of another promoter code
// than ARGV[8] whose l:<ev> is greater is kept.
//
// Every step is bounded whatever the session did before: the hash holds
// at most max events scopes plus the site-wide one (a new event past the
// cap drops the first of o, its six fields HDEL'd), o is at most max
// events slugs (about 4 KB) and m:<ev> is the day (YYYY-MM-DD) followed by
// at most max marks 16-hex-digit fingerprints (SHA-1) of the source keys
// counted that day. No command walks the hash.
//
// On a single node the promoter's figures are counted only when the
// promoters hash has the code (outside cluster mode a script may touch
// keys of any hash tag), and only on the keys given: when the session
// keeps a touch of another promoter than ARGV[8], the reply names that
// code and the caller counts it with promoterVisitScript.
//
// Reply {replaced, counted, key, promoter code[, current touch JSON when
// not replaced]}.
var stampScript = redis.NewScript(visitLib + `
local sk, ev, day = KEYS[1], ARGV[1], ARGV[6]
local cur = redis.call('HMGET', sk, 't:' .. ev, 's:' .. ev, 'k:' .. ev, 'p:' .. ev, 'm:' .. ev, 'o', 'l:' .. ev)
local replace = 1
if cur[1] then
  local lockAt, cp = tonumber(ARGV[13]), cur[4] or ''
  if lockAt and cp ~= '' and cp ~= ARGV[8] and (tonumber(cur[7]) or 0) > lockAt then
    replace = 0
  else
    local cs = tonumber(cur[2]) or 0
    replace = (string.sub(ARGV[9], cs + 1, cs + 1) == '1') and 1 or 0
  end
end
-- o: move ev to the end, dropping the least recently landed events first
-- when ev is new and the session holds max events
if ev ~= '' then
  local o = cur[6] or ''
  local padded = ' ' .. o
  local i = string.find(padded, ' ' .. ev .. ' ', 1, true)
  if i then
    if i + #ev + 1 < #padded then
      o = string.sub(padded, 2, i) .. string.sub(padded, i + #ev + 2) .. ev .. ' '
      redis.call('HSET', sk, 'o', o)
    end
  else
    local _, n = string.gsub(o, ' ', ' ')
    local max = tonumber(ARGV[10])
    while n >= max and n > 0 do
      local old = string.match(o, '^(%S+) ')
      redis.call('HDEL', sk, 't:' .. old, 's:' .. old, 'k:' .. old, 'p:' .. old, 'm:' .. old, 'l:' .. old)
      o = string.sub(o, #old + 2)
      n = n - 1
    end
    redis.call('HSET', sk, 'o', o .. ev .. ' ')
  end
end
local key, code = ARGV[7], ARGV[8]
if replace == 1 then
  redis.call('HSET', sk, 't:' .. ev, ARGV[2], 's:' .. ev, ARGV[3], 'k:' .. ev, key, 'p:' .. ev, code)
  if ARGV[14] ~= '' then
    redis.call('HSET', sk, 'l:' .. ev, ARGV[14])
  elseif cur[7] then
    redis.call('HDEL', sk, 'l:' .. ev)
  end
else
  key, code = cur[3] or key, cur[4] or ''
end
-- m:<ev>: the marks of one day, at most max marks
local fp = string.sub(redis.sha1hex(key), 1, 16)
local marks = cur[5]
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
    if (#marks - 10) / 16 >= tonumber(ARGV[11]) then
      marks = day .. fp
    else
      marks = marks .. fp
    end
  end
end
if counted == 1 then
  redis.call('HSET', sk, 'm:' .. ev, marks)
  if #KEYS >= 4 then
    countEvent(KEYS[2], KEYS[3], KEYS[4], key, day, tonumber(ARGV[12]), 1)
    if code ~= '' and code == ARGV[8] and #KEYS >= 10 then
      countPromoter(5, code, ev, day, 1)
    end
  end
end
redis.call('PEXPIRE', sk, ARGV[5])
if replace == 1 then
  return {1, counted, key, code}
end
return {0, counted, key, code, cur[1]}
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
