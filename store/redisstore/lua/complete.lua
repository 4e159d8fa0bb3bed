-- complete: record attempts and new states, fenced by the claim's token.
--
-- KEYS[1] K.."leases"  zset of leased delivery IDs by lease expiry
-- KEYS[2] K.."ready"   zset of active webhook IDs by earliest due delivery
-- ARGV[1] K
-- ARGV[2], ARGV[3] the auto-disable reason before and after the failure count
-- ARGV[4] number of completions; then 10 values for each:
--         delivery ID, token, status (SUCCESS, RETRYING or FAILED),
--         next attempt (µs; used for RETRYING), now (µs), attempt (JSON),
--         response status, error, duration (ns), disable reason ("" = none)
--
-- Returns {stale, disabled}: stale lists the delivery IDs whose completion
-- was rejected; disabled is a flat array of webhook ID, reason.
--
-- A completion applies only when the delivery and its webhook exist, the
-- token is the delivery's current one and the claim still holds (the
-- "lease" field is set: neither completed nor released). It then appends
-- the attempt to K.."att:"..id, updates the delivery and its status
-- indexes, drops the lease, and for RETRYING puts the delivery back into
-- its due zset at the next attempt time. In the same step it resets
-- (SUCCESS) or increments the webhook's failure counter and, if the
-- webhook is active, disables it when the completion carries a reason or
-- the counter reaches the webhook's threshold ("autodis" > 0).
local stale, disabled = {}, {}
local hooks = {} -- webhook ID -> cached state, or false when deleted
local function hook(w)
  local h = hooks[w]
  if h == nil then
    local f = redis.call('HMGET', whkey(w), 'active', 'autodis', 'co', 'events', 'fails')
    h = false
    if f[1] then
      h = {active = f[1], autodis = tonumber(f[2]) or 0, co = f[3], events = f[4], fails = tonumber(f[5]) or 0}
    end
    hooks[w] = h
  end
  return h
end

local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local id, tok, st, nxt, now, att = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local rs, err, dur, dis = ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], ARGV[i + 9]
  i = i + 10
  local d = dkey(id)
  local f = redis.call('HMGET', d, 'tok', 'lease', 'wh', 'status', 'n')
  local w = f[3]
  local h = w and hook(w)
  if not f[1] or f[1] ~= tok or not f[2] or not h then
    stale[#stale + 1] = id
  else
    redis.call('RPUSH', K .. 'att:' .. id, att)
    local n = istr((tonumber(f[5]) or 0) + 1)
    if st == 'RETRYING' then
      redis.call('HSET', d, 'status', st, 'n', n, 'rs', rs, 'err', err, 'dur', dur, 'updated', now, 'next', nxt)
    else
      redis.call('HSET', d, 'status', st, 'n', n, 'rs', rs, 'err', err, 'dur', dur, 'updated', now)
    end
    redis.call('HDEL', d, 'lease')
    zrem(KEYS[1], id)
    zrem(duekey(w), dmember(id))
    if st == 'RETRYING' then zadd(duekey(w), nxt, dmember(id)) end
    if f[4] ~= st then index_status(id, w, f[4], st) end

    h.touched = true
    if st == 'SUCCESS' then h.fails = 0 else h.fails = h.fails + 1 end
    if h.active == '1' then
      local reason = dis
      if reason == '' and h.autodis > 0 and h.fails >= h.autodis then
        reason = ARGV[2] .. istr(h.fails) .. ARGV[3]
      end
      if reason ~= '' then
        h.active = '0'
        h.reason = reason
        h.updated = now
        unsubscribe(w, h.co, h.events)
        disabled[#disabled + 1] = w
        disabled[#disabled + 1] = reason
      end
    end
  end
end
zflush()
for w, h in pairs(hooks) do
  if h and h.touched then
    if h.reason then
      redis.call('HSET', whkey(w), 'fails', istr(h.fails), 'active', '0', 'reason', h.reason, 'updated', h.updated)
    else
      redis.call('HSET', whkey(w), 'fails', istr(h.fails))
    end
    refresh_ready(w)
  end
end
return {stale, disabled}
