-- list_deliveries (read only): a page of delivery history, newest first.
--
-- KEYS[1] the index: K.."hist" (all), K.."hist:w:"..webhook,
--         K.."hist:s:"..status or K.."hist:ws:"..webhook..":"..status;
--         each a zset of delivery IDs scored by ID
-- ARGV[1] K
-- ARGV[2] the highest score to return: "+inf", or "(" followed by the cursor
-- ARGV[3] limit (> 0)
--
-- Returns an array of delivery hashes (HGETALL). Deliveries of a deleted
-- webhook not yet removed (see delete_webhook.lua) are skipped. Cost: one
-- ZREVRANGEBYSCORE and one HGETALL per row; the status filter is its own
-- index, so filtering never scans other statuses.
local limit = tonumber(ARGV[3])
local out, offset = {}, 0
local alive = {}
while #out < limit do
  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'LIMIT', offset, limit)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    local w = redis.call('HGET', dkey(id), 'wh')
    if w then
      if alive[w] == nil then alive[w] = redis.call('EXISTS', whkey(w)) == 1 end
      if alive[w] and #out < limit then out[#out + 1] = redis.call('HGETALL', dkey(id)) end
    end
  end
  if #ids < limit then break end
end
return out
