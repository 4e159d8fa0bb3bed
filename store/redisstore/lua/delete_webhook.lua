-- delete_webhook: remove a webhook, then (a batch of) its deliveries.
--
-- KEYS[1] K.."wh:"..id   the webhook hash
-- KEYS[2] K.."webhooks"  zset of every webhook ID
-- KEYS[3] K.."ready"     zset of active webhooks by earliest due delivery
-- KEYS[4] K.."trash"     set of deleted webhooks whose deliveries remain
-- ARGV[1] K
-- ARGV[2] webhook ID
-- ARGV[3] batch: the most deliveries deleted by this call
--
-- Returns "NOTFOUND", or the number of the webhook's deliveries still to
-- delete. The webhook itself, its indexes and its due queue go at once;
-- its delivery history (K.."hist:w:"..id) is renamed K.."trash:"..id and
-- deleted batch by batch (this call, then trash.lua), so deleting a webhook
-- with a long history never blocks Redis for long. Until then the leftover
-- deliveries are invisible: every read and write checks that a delivery's
-- webhook exists.
local w = ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local f = redis.call('HMGET', KEYS[1], 'co', 'events')
unsubscribe(w, f[1], f[2])
redis.call('ZREM', KEYS[2], w)
if f[1] then
  redis.call('ZREM', K .. 'co:' .. f[1], w)
else
  redis.call('ZREM', K .. 'sys', w)
end
redis.call('ZREM', KEYS[3], w)
redis.call('DEL', KEYS[1])
redis.call('UNLINK', duekey(w), K .. 'hist:ws:' .. w .. ':PENDING', K .. 'hist:ws:' .. w .. ':RETRYING',
  K .. 'hist:ws:' .. w .. ':SUCCESS', K .. 'hist:ws:' .. w .. ':FAILED')
local hk = K .. 'hist:w:' .. w
if redis.call('EXISTS', hk) == 0 then return 0 end
redis.call('RENAME', hk, K .. 'trash:' .. w)
redis.call('SADD', KEYS[4], w)
return drain(w, tonumber(ARGV[3]))
