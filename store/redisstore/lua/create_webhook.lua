-- create_webhook: store a new webhook, enforcing the per-company limit.
--
-- KEYS[1] K.."seq:webhook"   counter of webhook IDs (INCR)
-- KEYS[2] K.."webhooks"      zset of every webhook ID (score = ID)
-- KEYS[3] K.."co:"..company  zset of the company's webhook IDs, or
--         K.."sys"           for a system-wide webhook
-- ARGV[1] K
-- ARGV[2] limit: the most webhooks KEYS[3] may hold; <= 0 means no limit
-- ARGV[3..] field, value, ... of the webhook hash (see README.md)
--
-- Returns {"LIMIT", count} when the company is full, else {"OK", id}.
-- The count and the insert are one atomic step.
local limit = tonumber(ARGV[2])
if limit > 0 then
  local n = redis.call('ZCARD', KEYS[3])
  if n >= limit then return {'LIMIT', n} end
end
local id = istr(redis.call('INCR', KEYS[1]))
local wk = whkey(id)
redis.call('HSET', wk, unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], id, id)
redis.call('ZADD', KEYS[3], id, id)
local f = redis.call('HMGET', wk, 'active', 'co', 'events')
if f[1] == '1' then subscribe(id, f[2], f[3]) end
return {'OK', id}
