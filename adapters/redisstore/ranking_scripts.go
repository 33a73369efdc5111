package redisstore

import "github.com/redis/go-redis/v9"

// rankLib keeps the promoters' group aggregates, for PromoterSummary and
// PromoterRanking. For each group g, and for g = "" meaning every
// registered promoter (no group can be named "": names are 1 to 64 bytes
// after trimming):
//
//	<base>pg:sum:<g>   hash: orders, tickets, excluded, rev:<CUR>: the sum of
//	                   the members' p:<code>:all sales fields (no visits)
//	<base>pg:rank:<g>  zset: member code, score -tickets (ZRANGE gives
//	                   tickets descending, then code ascending)
//	<base>pg:act:<g>   set: members with orders > 0
//	<base>pg:mem:<g>   set: members
//
// The member of a group is a registered promoter (a field of
// <base>promoters) whose JSON lists the group; every registered promoter
// is a member of "". They change in the same script as what they follow:
// Record and Refund (apply → rankOrder), SavePromoter, RenameGroup and
// DeleteGroup (regMove), DeletePromoter (regMove to no groups).
//
// Scripts name these keys from the {o} base, so they share the slot of
// the keys they were given. Counts travel as strings (see scripts.go).
const rankLib = `
local function pgKey(base, kind, g)
  return base .. 'pg:' .. kind .. ':' .. g
end
local function flip(v)
  if v == '0' then return v end
  if string.sub(v, 1, 1) == '-' then return string.sub(v, 2) end
  return '-' .. v
end
-- regGroups returns the aggregate groups of code: {} when it is not
-- registered, else '' followed by the groups its JSON lists.
local function regGroups(base, code)
  local js = redis.call('HGET', base .. 'promoters', code)
  if not js then return {} end
  local gs = {''}
  local ok, p = pcall(cjson.decode, js)
  if ok and type(p) == 'table' and type(p.groups) == 'table' then
    for _, g in ipairs(p.groups) do
      if type(g) == 'string' and g ~= '' then gs[#gs + 1] = g end
    end
  end
  return gs
end
-- salesOf returns a promoter's all-time sales fields as a flat
-- {name, value, …} list (visits left out), and its tickets and orders.
local function salesOf(base, code)
  local h = redis.call('HGETALL', base .. 'p:' .. code .. ':all')
  local f, tickets, orders = {}, '0', 0
  for i = 1, #h, 2 do
    local name, v = h[i], h[i + 1]
    if name ~= 'visits' then
      f[#f + 1] = name
      f[#f + 1] = v
      if name == 'tickets' then tickets = v end
      if name == 'orders' then orders = tonumber(v) or 0 end
    end
  end
  return f, tickets, orders
end
local function setRank(base, g, code, tickets, orders)
  redis.call('ZADD', pgKey(base, 'rank', g), flip(tickets), code)
  if orders > 0 then
    redis.call('SADD', pgKey(base, 'act', g), code)
  else
    redis.call('SREM', pgKey(base, 'act', g), code)
  end
end
local function join(base, g, code, f, tickets, orders)
  local sum = pgKey(base, 'sum', g)
  for i = 1, #f, 2 do
    redis.call('HINCRBY', sum, f[i], f[i + 1])
  end
  redis.call('SADD', pgKey(base, 'mem', g), code)
  setRank(base, g, code, tickets, orders)
end
local function dropGroup(base, g)
  redis.call('DEL', pgKey(base, 'sum', g), pgKey(base, 'rank', g), pgKey(base, 'act', g), pgKey(base, 'mem', g))
end
local function leave(base, g, code, f)
  local sum = pgKey(base, 'sum', g)
  for i = 1, #f, 2 do
    redis.call('HINCRBY', sum, f[i], flip(f[i + 1]))
  end
  redis.call('SREM', pgKey(base, 'mem', g), code)
  redis.call('ZREM', pgKey(base, 'rank', g), code)
  redis.call('SREM', pgKey(base, 'act', g), code)
  if redis.call('SCARD', pgKey(base, 'mem', g)) == 0 then
    dropGroup(base, g) -- only zeros are left
  end
end
-- regMove moves code's all-time sales from the aggregate groups old to
-- the groups new (lists from regGroups).
local function regMove(base, code, old, new)
  local was, is = {}, {}
  for _, g in ipairs(old) do was[g] = true end
  for _, g in ipairs(new) do is[g] = true end
  local f, tickets, orders
  for g in pairs(was) do
    if not is[g] then
      if not f then f, tickets, orders = salesOf(base, code) end
      leave(base, g, code, f)
    end
  end
  for g in pairs(is) do
    if not was[g] then
      if not f then f, tickets, orders = salesOf(base, code) end
      join(base, g, code, f, tickets, orders)
    end
  end
end
-- rankOrder adds (sign 1) or removes (sign -1) one order's figures to the
-- aggregate groups of promoter p, after apply changed p's own totals.
local function rankOrder(base, p, sign, t, x, r, c)
  local gs = regGroups(base, p)
  if #gs == 0 then return end
  local v = redis.call('HMGET', base .. 'p:' .. p .. ':all', 'tickets', 'orders')
  local tickets, orders = v[1] or '0', tonumber(v[2] or '0') or 0
  local function s(n)
    if sign > 0 then return n end
    return flip(n)
  end
  for _, g in ipairs(gs) do
    local sum = pgKey(base, 'sum', g)
    redis.call('HINCRBY', sum, 'excluded', s(x))
    if t ~= '0' then -- an order with no primary tickets counts excluded only
      redis.call('HINCRBY', sum, 'orders', sign)
      redis.call('HINCRBY', sum, 'tickets', s(t))
      if r ~= '0' then
        redis.call('HINCRBY', sum, 'rev:' .. c, s(r))
      end
    end
    setRank(base, g, p, tickets, orders)
  end
end
`

// linksScript answers Links(event): the links of the event's index set
// (one HMGET per 1,000 ids, so the Lua stack stays small). The first call
// on a store without <base>links:indexed indexes the links saved before
// the index existed, then sets it.
//
//	KEYS[1] <base>links:ev:<event>, KEYS[2] <base>links,
//	KEYS[3] <base>links:indexed
var linksScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then
  -- index the links saved before the index existed (once)
  local base = string.sub(KEYS[2], 1, -#'links' - 1)
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local ok, l = pcall(cjson.decode, all[i + 1])
    if ok and type(l) == 'table' and type(l.event) == 'string' then
      redis.call('SADD', base .. 'links:ev:' .. l.event, all[i])
    end
  end
  redis.call('SET', KEYS[3], '1')
end
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for i = 1, #ids, 1000 do
  local vs = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
  for _, v in ipairs(vs) do
    if v then out[#out + 1] = v end
  end
end
return out
`)

// saveLinkScript stores a link and moves it between the events' index
// sets when its event changed.
//
//	KEYS[1] <base>links
//	ARGV    base, id, JSON, event
var saveLinkScript = redis.NewScript(`
local base, id = ARGV[1], ARGV[2]
local old = redis.call('HGET', KEYS[1], id)
if old then
  local ok, l = pcall(cjson.decode, old)
  if ok and type(l) == 'table' and type(l.event) == 'string' and l.event ~= ARGV[4] then
    redis.call('SREM', base .. 'links:ev:' .. l.event, id)
  end
end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('SADD', base .. 'links:ev:' .. ARGV[4], id)
return 1
`)

// deleteLinkScript removes a link and its entry in its event's index set.
//
//	KEYS[1] <base>links
//	ARGV    base, id
var deleteLinkScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[2])
if not old then return 0 end
local ok, l = pcall(cjson.decode, old)
if ok and type(l) == 'table' and type(l.event) == 'string' then
  redis.call('SREM', ARGV[1] .. 'links:ev:' .. l.event, ARGV[2])
end
redis.call('HDEL', KEYS[1], ARGV[2])
return 1
`)

// rebuildRankScript recomputes every group aggregate from the registry and
// the promoters' own totals, then sets <base>pg:ready. PromoterSummary and
// PromoterRanking run it once, when that marker is missing: on a new
// store, or on data written before the aggregates existed. Writers keep
// the aggregates up to date whether or not the marker is set; the rebuild
// starts from scratch, so it is right either way. Its cost grows with the
// number of promoters (it runs once).
//
//	KEYS[1] <base>promoters, KEYS[2] <base>groups, KEYS[3] <base>pg:ready
var rebuildRankScript = redis.NewScript(rankLib + `
local base = string.sub(KEYS[1], 1, -#'promoters' - 1)
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
local codes = redis.call('HKEYS', KEYS[1])
local memberOf = {}
local drop = {['']= true}
for _, g in ipairs(redis.call('SMEMBERS', KEYS[2])) do drop[g] = true end
for i, code in ipairs(codes) do
  memberOf[i] = regGroups(base, code)
  for _, g in ipairs(memberOf[i]) do drop[g] = true end
end
for g in pairs(drop) do dropGroup(base, g) end
for i, code in ipairs(codes) do
  regMove(base, code, {}, memberOf[i])
end
redis.call('SET', KEYS[3], '1')
return 1
`)
