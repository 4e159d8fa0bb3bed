-- update_webhook: overwrite a webhook's configuration fields.
--
-- KEYS[1] K.."wh:"..id  the webhook hash
-- ARGV[1] K
-- ARGV[2] webhook ID
-- ARGV[3..] field, value, ... of the configuration fields (name, desc,
--         url, events, headers, method, ctype, timeout, retries, verify,
--         autodis, updated, filters); company, secret, activity, failure counter
--         and reason are not among them
--
-- Returns "NOTFOUND" or "OK". An active webhook's match-index entries move
-- from its old patterns to the new ones.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local f = redis.call('HMGET', KEYS[1], 'active', 'co', 'events')
if f[1] == '1' then unsubscribe(ARGV[2], f[2], f[3]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if f[1] == '1' then subscribe(ARGV[2], f[2], redis.call('HGET', KEYS[1], 'events')) end
return 'OK'
