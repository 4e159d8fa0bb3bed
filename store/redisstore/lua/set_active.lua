-- set_active: enable or disable a webhook.
--
-- KEYS[1] K.."wh:"..id  the webhook hash
-- KEYS[2] K.."ready"    zset of active webhooks by earliest due delivery
-- ARGV[1] K
-- ARGV[2] webhook ID
-- ARGV[3] "1" to enable, "0" to disable
-- ARGV[4] reason recorded when disabling
-- ARGV[5] now (µs): the new updated time
--
-- Returns "NOTFOUND" or "OK". Disabling takes the webhook out of the match
-- index and out of K.."ready", so Claim never looks at its backlog (the
-- deliveries stay in K.."due:"..id). Enabling resets the failure counter
-- and the reason, puts it back in both, and PUBLISHes on K.."wake".
local w = ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local f = redis.call('HMGET', KEYS[1], 'active', 'co', 'events')
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'active', '1', 'fails', '0', 'reason', '', 'updated', ARGV[5])
  if f[1] ~= '1' then subscribe(w, f[2], f[3]) end
  refresh_ready(w)
  redis.call('PUBLISH', K .. 'wake', 'enable')
else
  redis.call('HSET', KEYS[1], 'active', '0', 'reason', ARGV[4], 'updated', ARGV[5])
  if f[1] == '1' then unsubscribe(w, f[2], f[3]) end
  redis.call('ZREM', KEYS[2], w)
end
return 'OK'
