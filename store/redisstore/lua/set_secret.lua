-- set_secret: replace a webhook's signing secret.
--
-- KEYS[1] K.."wh:"..id  the webhook hash
-- ARGV[1] K
-- ARGV[2] the new secret
-- ARGV[3] now (µs): the new updated time
--
-- Returns "NOTFOUND" or "OK".
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
redis.call('HSET', KEYS[1], 'secret', ARGV[2], 'updated', ARGV[3])
return 'OK'
