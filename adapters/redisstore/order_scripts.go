package redisstore

import (
	"github.com/redis/go-redis/v9"

	"github.com/tracklink/tracklink"
)

// The order-side scripts (Record, Refund, the promoters' visits, the hook
// outbox) follow three rules:
//
//   - Every key a script reads or writes is in KEYS, named in Go. Where the
//     keys depend on stored data (the groups a promoter is in, the event
//     and day a refunded order counted under), Go reads that data first and
//     passes what it read in ARGV; the script compares it with what is
//     stored and, if it changed, writes nothing and replies -2 (stale), so
//     that Go reads again. A Cluster that migrates the {o} slot key by key
//     then refuses the whole script up front (TRYAGAIN, ASK) instead of
//     failing half-way on a key that moved.
//   - A script checks everything before its first write: its arguments
//     parse, stored counters are integers, and no HINCRBY can leave
//     int64's range (sums are checked against limitLua). It then applies
//     fully or writes nothing.
//   - Numbers that may be large (revenue) travel as strings and are only
//     handed to HINCRBY as strings: Lua's numbers are doubles and would
//     print big values in exponent form. The bounds checks use doubles,
//     with a margin far wider than their rounding.

// limitLua is the bound an aggregate's absolute value must stay under
// (int64 reaches 9.22e18; the margin covers the doubles' rounding). At
// tracklink.MaxOrderAmount per order that is nine million maximal orders
// on one counter.
const limitLua = "9e18"

// orderLib is shared by the record and refund scripts.
//
// Order hash <base>o:<id>: a (attribution JSON), e (event), d (day),
// k (source key), p (promoter code or ""), t, x, r (tickets, excluded,
// revenue), c (currency), f ("1" once refunded in full), tomb (refund
// time of an order not recorded yet), ob:<kind> (outbox entries),
// cl:<kind> (the lease on an outbox entry: unix ms it ends), tok and ts
// (the delivery token of the Record that claimed it, and "1" when that
// Record counted the order), rtok (the token of the Refund that reversed
// it), nr (the number of partial refunds applied) and rf:<refund id> (one
// per partial refund: the token of the call that applied it, a newline,
// and its tracklink.RefundEntry JSON).
//
// An aggregate plan is a list of {key, field, delta} increments: checked
// by checkPlan (no write), then applied by runPlan.
const orderLib = `
local limit = ` + limitLua + `
local function isInt(v)
  return type(v) == 'string' and #v <= 20 and string.match(v, '^-?%d+$') ~= nil
end
local function neg(v, sign)
  if sign > 0 or v == '0' then return v end
  return '-' .. v
end
-- bump plans one order's figures on a hash. An order with no primary
-- tickets counts its excluded tickets only (no order, no revenue).
local function bump(plan, h, pre, sign, t, x, r, c)
  plan[#plan + 1] = {h, pre .. 'excluded', neg(x, sign)}
  if t == '0' then return end
  plan[#plan + 1] = {h, pre .. 'orders', tostring(sign)}
  plan[#plan + 1] = {h, pre .. 'tickets', neg(t, sign)}
  if r ~= '0' then
    plan[#plan + 1] = {h, pre .. 'rev:' .. c, neg(r, sign)}
  end
end
-- checkPlan returns an error message unless every increment of plan
-- leaves an integer field within limit.
local function checkPlan(plan)
  for _, p in ipairs(plan) do
    local cur = redis.call('HGET', p[1], p[2]) or '0'
    if not isInt(cur) then
      return 'field ' .. p[2] .. ' of ' .. p[1] .. ' is not an integer'
    end
    if math.abs(tonumber(cur) + tonumber(p[3])) >= limit then
      return 'field ' .. p[2] .. ' of ' .. p[1] .. ' would leave the 64-bit range'
    end
  end
end
local function runPlan(plan)
  for _, p in ipairs(plan) do
    redis.call('HINCRBY', p[1], p[2], p[3])
  end
end
-- eachBucket calls f(hash, field prefix) for every bucket an order counts
-- in: its event's day and all-time hashes under its key k and, for a
-- promoter (pk {all, ev, day}, nil for none), the promoter's totals,
-- per-event (prefix e|) and daily hashes and its groups' sums.
local function eachBucket(evd, eva, e, k, pk, groups, f)
  f(evd, k .. '|')
  f(eva, k .. '|')
  if pk then
    f(pk[1], '')
    f(pk[2], e .. '|')
    f(pk[3], '')
    for _, g in ipairs(groups) do
      f(g[1], '')
    end
  end
end
-- planOrder plans an order's figures (sign 1) or their reversal (-1) on
-- every bucket it counts in (eachBucket). pk is {all, ev, day} or nil;
-- groups a list of {sum, rank, act} keys.
local function planOrder(sign, evd, eva, e, k, pk, groups, t, x, r, c)
  local plan = {}
  eachBucket(evd, eva, e, k, pk, groups, function(h, pre) bump(plan, h, pre, sign, t, x, r, c) end)
  return plan
end
-- rerank moves the promoter in its groups' rankings after its totals
-- (KEYS pall) changed: score -tickets, active while orders > 0.
local function rerank(pall, code, groups)
  local v = redis.call('HMGET', pall, 'tickets', 'orders')
  local tickets, orders = tonumber(v[1] or '0') or 0, tonumber(v[2] or '0') or 0
  for _, g in ipairs(groups) do
    redis.call('ZADD', g[2], string.format('%.0f', -tickets), code)
    if orders > 0 then
      redis.call('SADD', g[3], code)
    else
      redis.call('SREM', g[3], code)
    end
  end
end
-- triples reads the group keys from KEYS[from..] ({sum, rank, act} each).
local function triples(from)
  local gs = {}
  for i = from, #KEYS - 2, 3 do
    gs[#gs + 1] = {KEYS[i], KEYS[i + 1], KEYS[i + 2]}
  end
  return gs
end
-- registered reports whether the promoters hash still holds the JSON the
-- caller read for code ('' for none).
local function registered(promoters, code, read)
  return (redis.call('HGET', promoters, code) or '') == read
end
-- pending lists the outbox entries of an order (its hash is bounded:
-- at most tracklink.MaxOrderRefunds partial refunds).
local function pending(o)
  local out = {}
  for _, f in ipairs(redis.call('HKEYS', o)) do
    if string.sub(f, 1, 3) == 'ob:' then out[#out + 1] = string.sub(f, 4) end
  end
  table.sort(out)
  return out
end
-- refunded marks a new attribution's JSON (no refund fields yet)
-- refunded in full at at, as tracklink.Attribution.FullRefund does: its
-- refunded revenue and tickets are its totals r and t.
local function refunded(a, at, r, t)
  local extra = ''
  if r ~= '0' then extra = extra .. ',"refunded_revenue":' .. r end
  if t ~= '0' then extra = extra .. ',"refunded_tickets":' .. t end
  return string.sub(a, 1, -2) .. ',"refunded":true,"refunded_at":"' .. at .. '"' .. extra .. '}'
end
-- take plans taking figures off a hash: orders o, tickets t, excluded x
-- and revenue r (non-negative decimal strings) in currency c.
local function take(plan, h, pre, o, t, x, r, c)
  if x ~= '0' then plan[#plan + 1] = {h, pre .. 'excluded', '-' .. x} end
  if o ~= '0' then plan[#plan + 1] = {h, pre .. 'orders', '-' .. o} end
  if t ~= '0' then plan[#plan + 1] = {h, pre .. 'tickets', '-' .. t} end
  if r ~= '0' then plan[#plan + 1] = {h, pre .. 'rev:' .. c, '-' .. r} end
end
local function publish(ch, kind, a)
  redis.call('PUBLISH', ch, '{"kind":"' .. kind .. '","attribution":' .. a .. '}')
end
`

// recordScript claims an order and applies it.
//
//	KEYS[1] <base>o:<id>          KEYS[5] <base>ev:<e>:all
//	KEYS[2] <base>idx             KEYS[6] <base>ev:<e>:keys
//	KEYS[3] <base>idx:<e>         KEYS[7] <base>ev:<e>:days
//	KEYS[4] <base>ev:<e>:d:<d>    KEYS[8] <base>promoters
//	for a promoter p (ARGV[15] not ""): KEYS[9..14] <base>p:<p>:all, :ev,
//	:d:<d>, :orders, :days, :ed; then, when ARGV[17] is "1", the :orders
//	set of the other code the touch's Source names; then, for each group
//	of p's registration read by the caller ("" first), its pg:sum, pg:rank
//	and pg:act keys.
//	ARGV    id, attribution JSON (not refunded), source key, tickets,
//	        excluded, revenue, currency, score (unix µs), hook kind,
//	        pub/sub channel, max sources (<= 0: no cap), delivery token,
//	        day, event, promoter ("" for none), p's registration JSON as
//	        read ("" when not registered), "1" when a Source code's set is
//	        given, max revenue
//
// The order's field k is the key its figures count under (the overflow key
// once the event holds max order keys), so Refund reverses the same bucket.
//
// Reply {status, attribution JSON, pending kinds}: status 1 applied, 0 not
// (a duplicate, or an order refunded before it was recorded); a retry
// carrying the claim's token gets the claim's status. {-2, JSON}: p's
// registration is not the one the caller passed (nothing written); JSON
// is the current one ("" for none), to name the group keys from.
var recordScript = redis.NewScript(orderLib + `
local o = KEYS[1]
local id, a, k, t, x, r, c = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local e, d, p = ARGV[14], ARGV[13], ARGV[15]
local cur = redis.call('HMGET', o, 'a', 'tok', 'ts')
if cur[1] then
  local st = 0
  if cur[2] == ARGV[12] and cur[3] == '1' then st = 1 end
  return {st, cur[1], pending(o)}
end
for _, v in ipairs({t, x, r}) do
  if not isInt(v) or string.sub(v, 1, 1) == '-' then
    return redis.error_reply('ERR record: ' .. v .. ' is not a count')
  end
end
if not isInt(ARGV[8]) then return redis.error_reply('ERR record: bad score') end
if tonumber(r) > tonumber(ARGV[18]) then
  return redis.error_reply('ERR record: revenue over the order limit')
end
local pk, groups, src
if p ~= '' then
  if not registered(KEYS[8], p, ARGV[16]) then
    return {-2, redis.call('HGET', KEYS[8], p) or ''}
  end
  pk = {KEYS[9], KEYS[10], KEYS[11]}
  local n = 15
  if ARGV[17] == '1' then src, n = KEYS[15], 16 end
  groups = triples(n)
end
local tomb = redis.call('HGET', o, 'tomb')
local plan, newKeys = {}, {}
if tomb then
  a = refunded(a, tomb, r, t)
else
  -- the key the order counts under (the cap); a store written before the
  -- key set existed gets it from the all-time hash
  local known = {}
  local n = 0
  if redis.call('EXISTS', KEYS[6]) == 0 then
    for _, f in ipairs(redis.call('HKEYS', KEYS[5])) do
      local pre = string.match(f, '^(.*)|[^|]*$')
      if pre and not known[pre] then
        known[pre] = true
        n = n + 1
        newKeys[#newKeys + 1] = pre
      end
    end
  else
    if redis.call('SISMEMBER', KEYS[6], k) == 1 then known[k] = true end
    n = redis.call('SCARD', KEYS[6])
  end
  local max = tonumber(ARGV[11])
  if not known[k] then
    if max > 0 and n >= max then k = '` + tracklink.OtherKey + `' end
    newKeys[#newKeys + 1] = k
  end
  plan = planOrder(1, KEYS[4], KEYS[5], e, k, pk, groups or {}, t, x, r, c)
  local err = checkPlan(plan)
  if err then return redis.error_reply('ERR record: ' .. err) end
end
-- nothing was written above this line
for i = 1, #newKeys, 1000 do
  redis.call('SADD', KEYS[6], unpack(newKeys, i, math.min(i + 999, #newKeys)))
end
redis.call('HSET', o, 'a', a, 'e', e, 'd', d, 'k', k, 'p', p,
  't', t, 'x', x, 'r', r, 'c', c, 'ob:' .. ARGV[9], '1', 'tok', ARGV[12], 'ts', tomb and '0' or '1')
redis.call('HDEL', o, 'tomb')
redis.call('PERSIST', o)
redis.call('ZADD', KEYS[2], ARGV[8], id)
redis.call('ZADD', KEYS[3], ARGV[8], id)
redis.call('SADD', KEYS[7], d)
if pk then
  redis.call('SADD', KEYS[12], id)
  redis.call('SADD', KEYS[13], d)
  redis.call('SADD', KEYS[14], e .. ' ' .. d)
end
if src then
  redis.call('SADD', src, id)
end
publish(ARGV[10], ARGV[9], a)
if tomb then
  redis.call('HSET', o, 'f', '1', 'ob:refunded', '1')
  publish(ARGV[10], 'refunded', a)
  return {0, a, pending(o)}
end
runPlan(plan)
if pk then rerank(KEYS[9], p, groups) end
return {1, a, pending(o)}
`)

// refundScript applies a full refund (ARGV[2] "") or a partial one (ARGV[2]
// its refund id) once. The caller first sends it knowing nothing of the
// order (ARGV[1] "0", KEYS[1..2]); for a recorded order the refund applies
// to, the script replies with the order's stored state, from which Go
// computes the refund (tracklink.Attribution.FullRefund or ApplyRefund:
// Lua's doubles cannot do exact sums of large amounts) and names the
// keys; it sends it again with them (ARGV[1] "1"). If the order changed
// in between (another refund, a promoter deleted), the script writes
// nothing and replies with the new state.
//
//	KEYS[1] <base>o:<id>, KEYS[2] <base>promoters; with ARGV[1] "1" also
//	        KEYS[3] <base>ev:<e>:d:<d>, KEYS[4] <base>ev:<e>:all and, for
//	        a promoter p, KEYS[5..7] <base>p:<p>:all, :ev, :d:<d>, then the
//	        {pg:sum, pg:rank, pg:act} keys of each group of p's
//	        registration
//	ARGV    "0" or "1", refund id ("" for a full refund), delivery token,
//	        pub/sub channel, refund time (JSON time without quotes; the
//	        tombstone of a full refund of an order not recorded), tombstone
//	        ttl ms (<= 0 keeps it); then with "1" the order's e, d, k, p,
//	        p's registration JSON ("" when not registered), attribution
//	        JSON and nr the keys and figures were computed from, the new
//	        attribution JSON, the orders, tickets, excluded tickets and
//	        revenue to take off (non-negative decimals), "1" when the
//	        order is now refunded in full, and the partial refund's entry
//	        JSON
//
// Reply {status, attribution JSON, pending kinds, entry JSON}: status 1
// applied (or a retry of the call that applied it: same token), 0 a
// duplicate (the refund id's stored entry) or an order already refunded
// in full; {-1} not recorded (a full refund leaves a tombstone, a partial
// one writes nothing); {-2, e, d, k, p, registration JSON, attribution
// JSON, nr}: compute from these and call again.
var refundScript = redis.NewScript(orderLib + `
local o, id, tok = KEYS[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', o, 'a', 'f', 'e', 'd', 'k', 'p', 'c', 'rtok', 'nr')
if not f[1] then
  if id == '' and redis.call('HSETNX', o, 'tomb', ARGV[5]) == 1 and tonumber(ARGV[6]) > 0 then
    redis.call('PEXPIRE', o, ARGV[6])
  end
  return {-1}
end
if id ~= '' then
  local claim = redis.call('HGET', o, 'rf:' .. id)
  if claim then
    local ctok, entry = string.match(claim, '^([^\n]*)\n(.*)$')
    local st = 0
    if ctok == tok then st = 1 end
    return {st, f[1], pending(o), entry or ''}
  end
end
if f[2] then
  local st = 0
  if id == '' and f[8] == tok then st = 1 end
  return {st, f[1], pending(o), ''}
end
local e, d, k, p, nr = f[3], f[4], f[5], f[6], f[9] or '0'
local reg = ''
if p ~= '' then reg = redis.call('HGET', KEYS[2], p) or '' end
if ARGV[1] ~= '1' or e ~= ARGV[7] or d ~= ARGV[8] or k ~= ARGV[9] or p ~= ARGV[10] or reg ~= ARGV[11]
    or f[1] ~= ARGV[12] or nr ~= ARGV[13] then
  return {-2, e, d, k, p, reg, f[1], nr}
end
local pk, groups = nil, {}
if p ~= '' then
  pk = {KEYS[5], KEYS[6], KEYS[7]}
  groups = triples(8)
end
for i = 15, 18 do
  if not isInt(ARGV[i]) or string.sub(ARGV[i], 1, 1) == '-' then
    return redis.error_reply('ERR refund: ' .. ARGV[i] .. ' is not a count')
  end
end
if not isInt(nr) then return redis.error_reply('ERR refund: stored refund count is not an integer') end
local ob, ot, ox, orv, c = ARGV[15], ARGV[16], ARGV[17], ARGV[18], f[7]
local plan = {}
eachBucket(KEYS[3], KEYS[4], e, k, pk, groups, function(h, pre) take(plan, h, pre, ob, ot, ox, orv, c) end)
local err = checkPlan(plan)
if err then return redis.error_reply('ERR refund: ' .. err) end
-- nothing was written above this line (but a full refund's tombstone)
local a, full = ARGV[14], ARGV[19] == '1'
redis.call('HSET', o, 'a', a)
if id ~= '' then
  redis.call('HSET', o, 'rf:' .. id, tok .. '\n' .. ARGV[20], 'nr', tostring(tonumber(nr) + 1),
    'ob:partial_refund:' .. id, '1')
else
  redis.call('HSET', o, 'rtok', tok)
end
if full then redis.call('HSET', o, 'f', '1', 'ob:refunded', '1') end
runPlan(plan)
if pk then rerank(KEYS[5], p, groups) end
if id ~= '' then publish(ARGV[4], 'partial_refund', a) end
if full then publish(ARGV[4], 'refunded', a) end
return {1, a, pending(o), ARGV[20]}
`)

// promoterVisitScript counts n visits on a registered promoter's figures
// (Cluster mode, and CountVisits); an unregistered code gets no keys.
//
//	KEYS    <base>promoters, <base>p:<code>:all, :ev, :d:<day>, :days, :ed
//	ARGV    code, event, day, n
var promoterVisitScript = redis.NewScript(orderLib + `
local code, ev, day, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', KEYS[1], code) == 0 then return 0 end
if not isInt(n) then return redis.error_reply('ERR count visits: bad count') end
local plan = {{KEYS[2], 'visits', n}, {KEYS[3], ev .. '|visits', n}, {KEYS[4], 'visits', n}}
local err = checkPlan(plan)
if err then return redis.error_reply('ERR count visits: ' .. err) end
runPlan(plan)
redis.call('SADD', KEYS[5], day)
redis.call('SADD', KEYS[6], ev .. ' ' .. day)
return 1
`)

// claimHookScript leases an outbox entry (Redis's clock).
//
//	KEYS[1] <base>o:<id>
//	ARGV    kind, lease ms
//
// Reply 1 claimed, 0 not owed or held by a live lease.
var claimHookScript = redis.NewScript(`
local o, kind = KEYS[1], ARGV[1]
local v = redis.call('HMGET', o, 'ob:' .. kind, 'cl:' .. kind)
if not v[1] then return 0 end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if v[2] and (tonumber(v[2]) or 0) > ms then return 0 end
redis.call('HSET', o, 'cl:' .. kind, string.format('%.0f', ms + tonumber(ARGV[2])))
return 1
`)
