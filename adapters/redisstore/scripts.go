package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts. On a Redis Cluster each script touches keys of a single
// hash slot: a session's {s:<session>} hash, an event's {e:<event>} visit
// counters, or the order side's {o} keys. The order-side scripts receive
// every key they touch in KEYS, named in Go (see order_scripts.go): a
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
-- countPromoter counts n visits on a registered promoter's figures; an
-- unregistered code gets no keys of its own.
local function countPromoter(obase, code, ev, day, n)
  if redis.call('HEXISTS', obase .. 'promoters', code) == 0 then return 0 end
  local pk = obase .. 'p:' .. code
  redis.call('HINCRBY', pk .. ':all', 'visits', n)
  redis.call('HINCRBY', pk .. ':ev', ev .. '|visits', n)
  redis.call('HINCRBY', pk .. ':d:' .. day, 'visits', n)
  redis.call('SADD', pk .. ':days', day)
  redis.call('SADD', pk .. ':ed', ev .. ' ' .. day)
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
//	                               m:<ev> visit marks; and o, the events
//	                               (not "") least recently landed first,
//	                               each followed by a space
//	KEYS[2] <prefix>{e:<ev>}:v:<day>, KEYS[3] <prefix>{e:<ev>}:v:all,
//	KEYS[4] <prefix>{e:<ev>}:days  (optional)
//	ARGV    event, touch JSON, strength, model (0 last, 1 first touch),
//	        ttl ms, day, key, promoter code ("" if none), order base,
//	        max events, max marks per scope, max sources (<= 0: no cap)
//
// Every step is bounded whatever the session did before: the hash holds
// at most max events scopes plus the site-wide one (a new event past the
// cap drops the first of o, its five fields HDEL'd), o is at most max
// events slugs (about 4 KB) and m:<ev> is the day (YYYY-MM-DD) followed by
// at most max marks 16-hex-digit fingerprints (SHA-1) of the source keys
// counted that day. No command walks the hash.
//
// On a single node the promoter's figures are counted only when the
// promoters hash (an {o} key built from the order base) has the code:
// outside cluster mode a script may touch keys of any hash tag.
//
// Reply {replaced, counted, key, promoter code[, current touch JSON when
// not replaced]}.
var stampScript = redis.NewScript(visitLib + `
local sk, ev, day = KEYS[1], ARGV[1], ARGV[6]
local cur = redis.call('HMGET', sk, 't:' .. ev, 's:' .. ev, 'k:' .. ev, 'p:' .. ev, 'm:' .. ev, 'o')
local replace
if not cur[1] then
  replace = 1
else
  local ns, cs = tonumber(ARGV[3]), tonumber(cur[2]) or 0
  if ns == 0 then
    replace = 0
  elseif ARGV[4] == '1' then
    replace = (ns > cs) and 1 or 0
  else
    replace = (ns >= cs) and 1 or 0
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
      redis.call('HDEL', sk, 't:' .. old, 's:' .. old, 'k:' .. old, 'p:' .. old, 'm:' .. old)
      o = string.sub(o, #old + 2)
      n = n - 1
    end
    redis.call('HSET', sk, 'o', o .. ev .. ' ')
  end
end
local key, code = ARGV[7], ARGV[8]
if replace == 1 then
  redis.call('HSET', sk, 't:' .. ev, ARGV[2], 's:' .. ev, ARGV[3], 'k:' .. ev, key, 'p:' .. ev, code)
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
    if code ~= '' then
      countPromoter(ARGV[9], code, ev, day, 1)
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
//
//	KEYS[1] <base>promoters  hash code → JSON
//	KEYS[2] <base>promos     hash promo code → promoter code
//	KEYS[3] <base>groups     set
//	KEYS[4] <base>regver     registry version (bumped)
//	ARGV    code, JSON, number of promo codes n, n promo codes, groups…
var savePromoterScript = redis.NewScript(rankLib + `
local code = ARGV[1]
local base = string.sub(KEYS[1], 1, -#'promoters' - 1)
local n = tonumber(ARGV[3])
for i = 4, 3 + n do
  local owner = redis.call('HGET', KEYS[2], ARGV[i])
  if owner and owner ~= code then
    return {0, ARGV[i], owner}
  end
end
local old = redis.call('HGET', KEYS[1], code)
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
local before = regGroups(base, code)
redis.call('HSET', KEYS[1], code, ARGV[2])
for i = 4, 3 + n do
  redis.call('HSET', KEYS[2], ARGV[i], code)
end
for i = 4 + n, #ARGV do
  redis.call('SADD', KEYS[3], ARGV[i])
end
regMove(base, code, before, regGroups(base, code))
redis.call('INCR', KEYS[4])
return {1}
`)

// groupScript applies a group rename or deletion to the promoters read at
// registry version ARGV[4], or does nothing (reply 0) if the registry
// changed since.
//
//	KEYS[1] <base>promoters, KEYS[2] <base>groups, KEYS[3] <base>regver
//	ARGV    op ("rename" or "delete"), from, to, version, then pairs of
//	        promoter code and new JSON
var groupScript = redis.NewScript(rankLib + `
local base = string.sub(KEYS[1], 1, -#'promoters' - 1)
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[4] then
  return 0
end
for i = 5, #ARGV, 2 do
  local before = regGroups(base, ARGV[i])
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  regMove(base, ARGV[i], before, regGroups(base, ARGV[i]))
end
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[2] ~= '' then
  dropGroup(base, ARGV[2])
end
if ARGV[1] == 'rename' then
  redis.call('SADD', KEYS[2], ARGV[3])
end
redis.call('INCR', KEYS[3])
return 1
`)

// deletePromoterScript removes a promoter and folds its sales figures into
// the deleted promoter's, on the order side. The attributions it rewrites
// were read and rewritten by the caller; if any changed since (or the
// promoter has orders the caller did not see), it does nothing and replies
// 0 so the caller reads again.
//
// The caller folded the visit counters of the (event, day) pairs it read
// first; the script also replies 0 when the promoter gained pairs since.
//
//	KEYS[1] <base>promoters
//	ARGV    base, code, deleted code, size of the order set read, size of
//	        the pair set read, then triples of order id, JSON read (""
//	        when missing), JSON rewritten
var deletePromoterScript = redis.NewScript(rankLib + `
local base, code, del = ARGV[1], ARGV[2], ARGV[3]
local pk = base .. 'p:' .. code
if redis.call('SCARD', pk .. ':orders') ~= tonumber(ARGV[4]) or
  redis.call('SCARD', pk .. ':ed') ~= tonumber(ARGV[5]) then
  return 0
end
for i = 6, #ARGV, 3 do
  if (redis.call('HGET', base .. 'o:' .. ARGV[i], 'a') or '') ~= ARGV[i + 1] then
    return 0
  end
end
local src, dst = 'promoter|' .. code, 'promoter|' .. del
for i = 6, #ARGV, 3 do
  if ARGV[i + 1] ~= '' then
    local o = base .. 'o:' .. ARGV[i]
    redis.call('HSET', o, 'a', ARGV[i + 2], 'p', '')
    -- its figures move with the fold only when they count under the code
    if redis.call('HGET', o, 'k') == src then
      redis.call('HSET', o, 'k', dst)
    end
  end
end
regMove(base, code, regGroups(base, code), {})
local fields = redis.call('HKEYS', pk .. ':all')
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
for _, ed in ipairs(redis.call('SMEMBERS', pk .. ':ed')) do
  local sp = string.find(ed, ' ', 1, true)
  local e = string.sub(ed, 1, sp - 1)
  fold(base .. 'ev:' .. e .. ':d:' .. string.sub(ed, sp + 1))
  if not evs[e] then
    evs[e] = true
    fold(base .. 'ev:' .. e .. ':all')
    local ks = base .. 'ev:' .. e .. ':keys'
    if redis.call('SREM', ks, src) == 1 then
      redis.call('SADD', ks, dst)
    end
  end
end
for _, d in ipairs(redis.call('SMEMBERS', pk .. ':days')) do
  redis.call('DEL', pk .. ':d:' .. d)
end
redis.call('DEL', pk .. ':all', pk .. ':ev', pk .. ':orders', pk .. ':days', pk .. ':ed')
local old = redis.call('HGET', KEYS[1], code)
if old then
  local ok, p = pcall(cjson.decode, old)
  if ok and type(p) == 'table' and type(p.promo_codes) == 'table' then
    for _, pc in ipairs(p.promo_codes) do
      if redis.call('HGET', base .. 'promos', pc) == code then
        redis.call('HDEL', base .. 'promos', pc)
      end
    end
  end
  redis.call('HDEL', KEYS[1], code)
end
redis.call('INCR', base .. 'regver')
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
