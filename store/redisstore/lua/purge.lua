-- purge: delete history created before a cutoff, one batch per call.
--
-- KEYS[1] K.."created"  zset of delivery IDs by creation time
-- KEYS[2] K.."events"   zset of event IDs by creation time
-- ARGV[1] K
-- ARGV[2] cutoff (µs): deliveries and events created strictly before go
-- ARGV[3] batch: the most deliveries, then events, looked at per call
-- ARGV[4] offset into the events older than the cutoff (those skipped by
--         earlier calls because deliveries remain)
--
-- Returns {deleted deliveries, events looked at, events skipped}. Up to a
-- batch of deliveries is deleted with their attempts and index entries
-- (a pending one also leaves its due zset). Only when fewer than a batch
-- were left does the call go on to events: up to a batch of the events
-- older than the cutoff, from the offset, are deleted if no delivery of
-- theirs is left (their count "n" is 0), else skipped. The caller repeats
-- until both parts come back short.
local cutoff, batch = '(' .. ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, batch)
local touched = {}
for _, id in ipairs(ids) do
  local w = delete_delivery(id)
  if w then touched[w] = true end
end
zflush()
for w in pairs(touched) do refresh_ready(w) end
if #ids == batch then return {#ids, 0, 0} end
local evs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff, 'LIMIT', tonumber(ARGV[4]), batch)
local skipped = 0
for _, e in ipairs(evs) do
  local ek = K .. 'ev:' .. e
  if (tonumber(redis.call('HGET', ek, 'n')) or 0) <= 0 then
    redis.call('DEL', ek)
    redis.call('ZREM', KEYS[2], e)
  else
    skipped = skipped + 1
  end
end
return {#ids, #evs, skipped}
