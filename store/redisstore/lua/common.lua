-- common.lua: helpers prepended to every script of this package.
--
-- ARGV[1] of every script is the key prefix K, e.g. "{acme}:". Every key a
-- script reads or writes starts with K, so all of a client's keys carry the
-- same hash tag and live in one Redis Cluster slot. Keys known before the
-- script runs are also passed in KEYS (which routes the call on Cluster);
-- keys that depend on stored data (a delivery's webhook, say) are built
-- here from K. README.md lists the key layout.
--
-- Times are integer microseconds since the Unix epoch (UTC), passed and
-- stored as decimal strings. Lua numbers are doubles: integers up to 2^53
-- are exact, but tostring() and ".." print only 14 digits, so numbers are
-- turned into strings with istr() before they are stored or concatenated.
local K = ARGV[1]

local function istr(n) return string.format('%d', n) end

-- Member of a due zset: the delivery ID zero-padded to 15 digits, so that
-- deliveries due at the same microsecond come out in ID order.
local function dmember(id) return string.format('%015d', tonumber(id)) end

local function dkey(id) return K .. 'd:' .. id end
local function whkey(w) return K .. 'wh:' .. w end
local function duekey(w) return K .. 'due:' .. w end

-- Sorted-set writes are queued and sent by zflush as one ZREM, then one
-- ZADD, per key (in chunks of 2,000 members), which saves most of the
-- redis.call overhead when a script handles many deliveries. Queued
-- removals go before queued additions, and a script flushes before it
-- reads a zset it has queued writes for.
local zadds, zrems = {}, {}

local function zadd(key, score, member)
  local t = zadds[key]
  if not t then
    t = {}
    zadds[key] = t
  end
  t[#t + 1] = score
  t[#t + 1] = member
end

local function zrem(key, member)
  local t = zrems[key]
  if not t then
    t = {}
    zrems[key] = t
  end
  t[#t + 1] = member
end

local function zflush()
  for key, t in pairs(zrems) do
    for j = 1, #t, 2000 do redis.call('ZREM', key, unpack(t, j, math.min(j + 1999, #t))) end
  end
  for key, t in pairs(zadds) do
    for j = 1, #t, 4000 do redis.call('ZADD', key, unpack(t, j, math.min(j + 3999, #t))) end
  end
  zadds, zrems = {}, {}
end

-- refresh_ready sets webhook w's score in K.."ready" to its earliest due
-- delivery, or removes w when it is inactive, deleted or has none.
local function refresh_ready(w)
  zflush()
  if redis.call('HGET', whkey(w), 'active') == '1' then
    local first = redis.call('ZRANGE', duekey(w), 0, 0, 'WITHSCORES')
    if #first > 0 then
      redis.call('ZADD', K .. 'ready', first[2], w)
      return
    end
  end
  redis.call('ZREM', K .. 'ready', w)
end

-- lower_ready records in K.."ready" that active webhook w has a delivery
-- due at score (keeping an earlier one).
local function lower_ready(w, score)
  local cur = redis.call('ZSCORE', K .. 'ready', w)
  if not cur or tonumber(cur) > tonumber(score) then
    redis.call('ZADD', K .. 'ready', score, w)
  end
end

-- index_status moves delivery id of webhook w from the status indexes of
-- old to those of new (either may be nil); queued.
local function index_status(id, w, old, new)
  if old then
    zrem(K .. 'hist:s:' .. old, id)
    zrem(K .. 'hist:ws:' .. w .. ':' .. old, id)
  end
  if new then
    zadd(K .. 'hist:s:' .. new, id, id)
    zadd(K .. 'hist:ws:' .. w .. ':' .. new, id, id)
  end
end

-- sub_keys lists the match-index sets of a webhook of company co (false or
-- "": system-wide) subscribed to the JSON array of patterns events_json.
local function sub_keys(co, events_json)
  local scope = 's'
  if co and co ~= '' then scope = 'c' .. co end
  local keys = {}
  local ok, evs = pcall(cjson.decode, events_json or '[]')
  if ok and type(evs) == 'table' then
    for _, p in ipairs(evs) do
      if type(p) == 'string' then keys[#keys + 1] = K .. 'sub:' .. scope .. ':' .. p end
    end
  end
  return keys
end

local function subscribe(w, co, events_json)
  for _, k in ipairs(sub_keys(co, events_json)) do redis.call('SADD', k, w) end
end

local function unsubscribe(w, co, events_json)
  for _, k in ipairs(sub_keys(co, events_json)) do redis.call('SREM', k, w) end
end

-- delete_delivery removes delivery id with its attempts from every index
-- (index removals queued) and counts it off its event. It returns the
-- delivery's webhook ID, or false when the delivery was already gone.
local function delete_delivery(id)
  local d = dkey(id)
  local f = redis.call('HMGET', d, 'wh', 'status', 'ev')
  zrem(K .. 'hist', id)
  zrem(K .. 'created', id)
  zrem(K .. 'leases', id)
  if not f[1] then return false end
  local w = f[1]
  zrem(K .. 'hist:w:' .. w, id)
  zrem(duekey(w), dmember(id))
  if f[2] then index_status(id, w, f[2], nil) end
  redis.call('DEL', d, K .. 'att:' .. id)
  if f[3] then
    local ek = K .. 'ev:' .. f[3]
    if redis.call('EXISTS', ek) == 1 then redis.call('HINCRBY', ek, 'n', -1) end
  end
  return w
end

-- drain deletes up to batch deliveries of deleted webhook w (listed in
-- K.."trash:"..w) and returns how many are left.
local function drain(w, batch)
  local tk = K .. 'trash:' .. w
  local ids = redis.call('ZRANGE', tk, 0, batch - 1)
  for _, id in ipairs(ids) do
    delete_delivery(id)
    zrem(tk, id)
  end
  zflush()
  local left = redis.call('ZCARD', tk)
  if left == 0 then redis.call('SREM', K .. 'trash', w) end
  return left
end

