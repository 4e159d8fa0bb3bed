-- list_webhooks (read only): the webhooks of an index, by ID.
--
-- KEYS[1] K.."webhooks", K.."sys" or K.."co:"..company
-- ARGV[1] K
--
-- Returns an array of webhook hashes (HGETALL, then "id", ID).
local out = {}
for _, w in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HGETALL', whkey(w))
  if #h > 0 then
    h[#h + 1] = 'id'
    h[#h + 1] = w
    out[#out + 1] = h
  end
end
return out
