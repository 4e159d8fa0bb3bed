-- claim: lease the oldest due deliveries of active webhooks.
--
-- KEYS[1] K.."ready"   zset of active webhook IDs by their earliest due delivery
-- KEYS[2] K.."leases"  zset of leased delivery IDs by lease expiry
-- ARGV[1] K
-- ARGV[2] now (µs)
-- ARGV[3] lease expiry (µs) of the new claims
-- ARGV[4] limit: the most deliveries to claim (> 0)
-- ARGV[5] per-webhook cap (<= 0 or >= limit: none)
-- ARGV[6] reclaim batch: the most expired leases to return to the queues
-- ARGV[7..] webhook IDs to skip
--
-- Returns {deliveries, webhooks, events}: deliveries is an array of
-- delivery hashes (field, value, ... as HGETALL gives them, after the
-- claim); webhooks an array of the hashes of their webhooks, each followed
-- by "id", ID; events a flat array of event ID, payload.
--
-- 1. Reclaim: up to ARGV[6] deliveries whose lease expired at or before
--    now leave K.."leases" and go back into their webhook's due zset at
--    their next attempt time. They keep their token and "lease" field, so
--    the old holder may still complete them until someone claims them again.
-- 2. Select: webhooks are visited in K.."ready" order (earliest due
--    first) among those due by now; each gives its oldest due deliveries
--    (at most the cap) and the best limit of all are kept. The walk stops
--    at the first webhook whose earliest due delivery is not earlier than
--    the limit-th kept one, so a claim visits about limit webhooks plus the
--    skipped ones, whatever the backlog. Inactive webhooks are not in
--    K.."ready" at all.
-- 3. Lease: each selected delivery leaves its due zset, its token is
--    incremented (HINCRBY) and it is leased until ARGV[3] in K.."leases".
--    Each touched webhook's K.."ready" score becomes its new earliest.
local now, expiry = ARGV[2], ARGV[3]
local limit, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
if cap <= 0 or cap > limit then cap = limit end

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
local back = {} -- active webhook ID -> earliest due time of its reclaimed deliveries
for _, id in ipairs(expired) do
  zrem(KEYS[2], id)
  local f = redis.call('HMGET', dkey(id), 'wh', 'next', 'status')
  if f[1] and (f[3] == 'PENDING' or f[3] == 'RETRYING') then
    local active = redis.call('HGET', whkey(f[1]), 'active')
    if active then
      zadd(duekey(f[1]), f[2], dmember(id))
      if active == '1' and (not back[f[1]] or tonumber(f[2]) < tonumber(back[f[1]])) then back[f[1]] = f[2] end
    end
  end
end
zflush()
for w, at in pairs(back) do lower_ready(w, at) end

local skip = {}
for j = 7, #ARGV do skip[ARGV[j]] = true end

-- candidates: {due (number), due-zset member, webhook ID}
local cands = {}
local threshold = nil
local function before(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end
local function trim()
  table.sort(cands, before)
  for j = #cands, limit + 1, -1 do cands[j] = nil end
  if #cands >= limit then threshold = cands[limit][1] end
end

local stale = {} -- webhooks whose "ready" entry is out of date
local offset, page = 0, 64
local done = false
while not done do
  local r = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', offset, page)
  for j = 1, #r, 2 do
    local w, ws = r[j], tonumber(r[j + 1])
    if threshold and ws >= threshold then
      done = true
      break
    end
    if not skip[w] then
      if redis.call('HGET', whkey(w), 'active') ~= '1' then
        stale[#stale + 1] = w
      else
        local items = redis.call('ZRANGEBYSCORE', duekey(w), '-inf', now, 'WITHSCORES', 'LIMIT', 0, cap)
        if #items == 0 then stale[#stale + 1] = w end
        for k = 1, #items, 2 do cands[#cands + 1] = {tonumber(items[k + 1]), items[k], w} end
        if #items > 0 and #cands >= limit then trim() end
      end
    end
  end
  if #r < 2 * page then break end
  offset = offset + page
end
trim()

local ds, ws, evs = {}, {}, {}
local seen_w, seen_e, touched = {}, {}, {}
for _, c in ipairs(cands) do
  local id, w = istr(tonumber(c[2])), c[3]
  local d = dkey(id)
  redis.call('HINCRBY', d, 'tok', 1)
  redis.call('HSET', d, 'lease', expiry)
  local h = redis.call('HGETALL', d)
  local ev
  for k = 1, #h, 2 do
    if h[k] == 'ev' then ev = h[k + 1] end
  end
  zrem(duekey(w), c[2])
  zadd(KEYS[2], expiry, id)
  ds[#ds + 1] = h
  touched[w] = true
  if not seen_w[w] then
    seen_w[w] = true
    local wh = redis.call('HGETALL', whkey(w))
    wh[#wh + 1] = 'id'
    wh[#wh + 1] = w
    ws[#ws + 1] = wh
  end
  if ev and not seen_e[ev] then
    seen_e[ev] = true
    evs[#evs + 1] = ev
    evs[#evs + 1] = redis.call('HGET', K .. 'ev:' .. ev, 'payload') or ''
  end
end
zflush()
for w in pairs(touched) do refresh_ready(w) end
for _, w in ipairs(stale) do refresh_ready(w) end
return {ds, ws, evs}
