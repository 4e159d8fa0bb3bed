-- retry: make a FAILED or RETRYING delivery RETRYING and due now.
--
-- KEYS[1] K.."d:"..id  the delivery hash
-- KEYS[2] K.."leases"  zset of leased delivery IDs by lease expiry
-- KEYS[3] K.."ready"   zset of active webhook IDs by earliest due delivery
-- ARGV[1] K
-- ARGV[2] delivery ID
-- ARGV[3] now (µs)
--
-- Returns "NOTFOUND", "NOTRETRYABLE:" followed by the status, or "OK".
-- The attempt history stays. A delivery under a running lease only gets
-- its next attempt time moved (it is due at that time once the lease
-- lapses); otherwise it is (re)placed in its due zset at now. PUBLISHes on
-- K.."wake".
local id, now = ARGV[2], ARGV[3]
local f = redis.call('HMGET', KEYS[1], 'wh', 'status')
if not f[1] or redis.call('EXISTS', whkey(f[1])) == 0 then return 'NOTFOUND' end
local w = f[1]
if f[2] ~= 'FAILED' and f[2] ~= 'RETRYING' then return 'NOTRETRYABLE:' .. (f[2] or '') end
redis.call('HSET', KEYS[1], 'status', 'RETRYING', 'next', now, 'updated', now)
if f[2] ~= 'RETRYING' then index_status(id, w, f[2], 'RETRYING') end
if not redis.call('ZSCORE', KEYS[2], id) then zadd(duekey(w), now, dmember(id)) end
refresh_ready(w) -- flushes the queued writes
redis.call('PUBLISH', K .. 'wake', 'retry')
return 'OK'
