-- get_delivery (read only): one delivery with its attempts.
--
-- KEYS[1] K.."d:"..id    the delivery hash
-- KEYS[2] K.."att:"..id  the list of its attempts (JSON), oldest first
-- ARGV[1] K
--
-- Returns {delivery hash (HGETALL), attempts}, or nil when the delivery
-- or its webhook does not exist.
local w = redis.call('HGET', KEYS[1], 'wh')
if not w or redis.call('EXISTS', whkey(w)) == 0 then return false end
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
