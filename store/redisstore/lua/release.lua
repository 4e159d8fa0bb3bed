-- release: give claims back unsent.
--
-- KEYS[1] K.."leases"  zset of leased delivery IDs by lease expiry
-- KEYS[2] K.."ready"   zset of active webhook IDs by earliest due delivery
-- ARGV[1] K
-- ARGV[2..] delivery ID, token, delivery ID, token, ...
--
-- Returns how many claims were released. Each delivery whose token is
-- current and whose claim still holds loses its lease (no attempt is
-- recorded) and is due again at once, at its unchanged next attempt time;
-- other pairs are ignored. Releasing anything PUBLISHes on K.."wake".
local n = 0
for j = 2, #ARGV - 1, 2 do
  local id, tok = ARGV[j], ARGV[j + 1]
  local d = dkey(id)
  local f = redis.call('HMGET', d, 'tok', 'lease', 'wh', 'next')
  if f[1] and f[1] == tok and f[2] then
    local active = redis.call('HGET', whkey(f[3]), 'active')
    if active then
      redis.call('HDEL', d, 'lease')
      zrem(KEYS[1], id)
      zadd(duekey(f[3]), f[4], dmember(id))
      if active == '1' then lower_ready(f[3], f[4]) end
      n = n + 1
    end
  end
end
zflush()
if n > 0 then redis.call('PUBLISH', K .. 'wake', 'release') end
return n
