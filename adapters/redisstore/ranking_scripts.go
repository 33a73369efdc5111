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
// Scripts are given every one of these keys in KEYS, named in Go (see
// rankKeys): ARGV[1] is a JSON object {"p": [codes], "g": [groups]} and
// the last KEYS are each code's <base>p:<code>:all, then each group's
// pg:sum, pg:rank, pg:act and pg:mem keys. rankLib takes ARGV[1] out of
// ARGV, so a script's own arguments start at ARGV[1]. A script checks,
// before its first write, that the stored data its groups come from is the
// data Go named the keys from (covers); a missing key then raises an error
// only through a bug. Counts travel as strings (see scripts.go).
const rankLib = `
local rkMap = cjson.decode(table.remove(ARGV, 1))
local pallKeys, pgKeys = {}, {}
do
  local i = #KEYS - #rkMap.p - 4 * #rkMap.g
  for _, c in ipairs(rkMap.p) do
    i = i + 1
    pallKeys[c] = KEYS[i]
  end
  for _, g in ipairs(rkMap.g) do
    pgKeys[g] = {sum = KEYS[i + 1], rank = KEYS[i + 2], act = KEYS[i + 3], mem = KEYS[i + 4]}
    i = i + 4
  end
end
local function pgKey(kind, g)
  local k = pgKeys[g]
  if not k then error('group aggregate keys of ' .. g .. ' not given') end
  return k[kind]
end
-- covers reports whether the keys of every group of gs were given.
local function covers(gs)
  for _, g in ipairs(gs) do
    if not pgKeys[g] then return false end
  end
  return true
end
local function flip(v)
  if v == '0' then return v end
  if string.sub(v, 1, 1) == '-' then return string.sub(v, 2) end
  return '-' .. v
end
-- groupsOf returns the aggregate groups of a registration JSON: {} for
-- none (nil or ''), else '' followed by the groups it lists.
local function groupsOf(js)
  if not js or js == '' then return {} end
  local gs = {''}
  local ok, p = pcall(cjson.decode, js)
  if ok and type(p) == 'table' and type(p.groups) == 'table' then
    for _, g in ipairs(p.groups) do
      if type(g) == 'string' and g ~= '' then gs[#gs + 1] = g end
    end
  end
  return gs
end
-- regGroups returns the aggregate groups of code in the promoters hash.
local function regGroups(promoters, code)
  return groupsOf(redis.call('HGET', promoters, code))
end
-- salesOf returns a promoter's all-time sales fields as a flat
-- {name, value, …} list (visits left out), and its tickets and orders.
local function salesOf(code)
  local pall = pallKeys[code]
  if not pall then error('totals key of ' .. code .. ' not given') end
  local h = redis.call('HGETALL', pall)
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
local function setRank(g, code, tickets, orders)
  redis.call('ZADD', pgKey('rank', g), flip(tickets), code)
  if orders > 0 then
    redis.call('SADD', pgKey('act', g), code)
  else
    redis.call('SREM', pgKey('act', g), code)
  end
end
local function join(g, code, f, tickets, orders)
  local sum = pgKey('sum', g)
  for i = 1, #f, 2 do
    redis.call('HINCRBY', sum, f[i], f[i + 1])
  end
  redis.call('SADD', pgKey('mem', g), code)
  setRank(g, code, tickets, orders)
end
local function dropGroup(g)
  redis.call('DEL', pgKey('sum', g), pgKey('rank', g), pgKey('act', g), pgKey('mem', g))
end
local function leave(g, code, f)
  local sum = pgKey('sum', g)
  for i = 1, #f, 2 do
    redis.call('HINCRBY', sum, f[i], flip(f[i + 1]))
  end
  redis.call('SREM', pgKey('mem', g), code)
  redis.call('ZREM', pgKey('rank', g), code)
  redis.call('SREM', pgKey('act', g), code)
  if redis.call('SCARD', pgKey('mem', g)) == 0 then
    dropGroup(g) -- only zeros are left
  end
end
-- regMove moves code's all-time sales from the aggregate groups old to
-- the groups new (lists from regGroups).
local function regMove(code, old, new)
  local was, is = {}, {}
  for _, g in ipairs(old) do was[g] = true end
  for _, g in ipairs(new) do is[g] = true end
  local f, tickets, orders
  for g in pairs(was) do
    if not is[g] then
      if not f then f, tickets, orders = salesOf(code) end
      leave(g, code, f)
    end
  end
  for g in pairs(is) do
    if not was[g] then
      if not f then f, tickets, orders = salesOf(code) end
      join(g, code, f, tickets, orders)
    end
  end
end
`

// linksScript answers Links(event): the links of the event's index set
// (one HMGET per 1,000 ids, so the Lua stack stays small). On a store
// without <base>links:indexed (links saved before the index existed) it
// replies -2 and writes nothing: the caller indexes them (indexLinksScript)
// and calls again.
//
//	KEYS[1] <base>links:ev:<event>, KEYS[2] <base>links,
//	KEYS[3] <base>links:indexed
var linksScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then
  return -2
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

// indexLinksScript indexes the links the caller read, each under the event
// it read, then sets <base>links:indexed. A link whose stored event is no
// longer the one read, or one saved since the read, was indexed by
// SaveLink, which keeps the index whether or not the marker is set.
//
//	KEYS[1] <base>links, KEYS[2] <base>links:indexed, then
//	        <base>links:ev:<event> of each pair
//	ARGV    pairs of link id and event
var indexLinksScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local ok, l = pcall(cjson.decode, v)
    if ok and type(l) == 'table' and l.event == ARGV[i + 1] then
      redis.call('SADD', KEYS[2 + (i + 1) / 2], ARGV[i])
    end
  end
end
redis.call('SET', KEYS[2], '1')
return 1
`)

// linkEvent is the event of a stored link's JSON (” when it has none).
const linkEventLua = `
local function linkEvent(js)
  local ok, l = pcall(cjson.decode, js)
  if ok and type(l) == 'table' and type(l.event) == 'string' then return l.event end
  return ''
end
`

// saveLinkScript stores a link and moves it between the events' index
// sets when its event changed. The caller names the index set of the
// event it believes the stored link has (ARGV[4], "" for none or the new
// event); if the stored link's event is another, the script writes
// nothing and replies {-2, event} so the caller calls again with its key.
//
//	KEYS[1] <base>links, KEYS[2] <base>links:ev:<event>, and when
//	        ARGV[4] is not "" KEYS[3] <base>links:ev:<ARGV[4]>
//	ARGV    id, JSON, event, old event
var saveLinkScript = redis.NewScript(linkEventLua + `
local id, ev = ARGV[1], ARGV[3]
local old = redis.call('HGET', KEYS[1], id)
local oldEv = ''
if old then oldEv = linkEvent(old) end
if oldEv ~= '' and oldEv ~= ev then
  if oldEv ~= ARGV[4] then return {-2, oldEv} end
  redis.call('SREM', KEYS[3], id)
end
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('SADD', KEYS[2], id)
return {1}
`)

// deleteLinkScript removes a link and its entry in its event's index set.
// The caller names the index set of the event it believes the link has
// (ARGV[2], "" for none); if the stored link's event is another, the
// script writes nothing and replies {-2, event}.
//
//	KEYS[1] <base>links, and when ARGV[2] is not "" KEYS[2]
//	        <base>links:ev:<ARGV[2]>
//	ARGV    id, event
var deleteLinkScript = redis.NewScript(linkEventLua + `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return {0} end
local ev = linkEvent(old)
if ev ~= ARGV[2] then return {-2, ev} end
if ev ~= '' then
  redis.call('SREM', KEYS[2], ARGV[1])
end
redis.call('HDEL', KEYS[1], ARGV[1])
return {1}
`)

// rebuildRankScript recomputes every group aggregate from the registry and
// the promoters' own totals, then sets <base>pg:ready. PromoterSummary and
// PromoterRanking run it once, when that marker is missing: on a new
// store, or on data written before the aggregates existed. Writers keep
// the aggregates up to date whether or not the marker is set; the rebuild
// starts from scratch, so it is right either way. Its cost grows with the
// number of promoters (it runs once).
//
// The caller read the registry version, the promoters and the groups set
// first and names the keys of every promoter and group they hold (rankLib);
// if the version or the groups set changed since, the script writes
// nothing and replies -2.
//
//	KEYS[1] <base>promoters, KEYS[2] <base>groups, KEYS[3] <base>pg:ready,
//	KEYS[4] <base>regver, then rankLib's keys
//	ARGV    rankLib's map, registry version read, the groups read
var rebuildRankScript = redis.NewScript(rankLib + `
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
if (redis.call('GET', KEYS[4]) or '0') ~= ARGV[1] or redis.call('SCARD', KEYS[2]) ~= #ARGV - 1 then
  return -2
end
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then return -2 end
end
local codes = redis.call('HKEYS', KEYS[1])
local memberOf = {}
local drop = {['']= true}
for i = 2, #ARGV do drop[ARGV[i]] = true end
for i, code in ipairs(codes) do
  if not pallKeys[code] then return -2 end
  memberOf[i] = regGroups(KEYS[1], code)
  for _, g in ipairs(memberOf[i]) do drop[g] = true end
end
local all = {}
for g in pairs(drop) do all[#all + 1] = g end
if not covers(all) then return -2 end
-- nothing was written above this line
for g in pairs(drop) do dropGroup(g) end
for i, code in ipairs(codes) do
  regMove(code, {}, memberOf[i])
end
redis.call('SET', KEYS[3], '1')
return 1
`)
