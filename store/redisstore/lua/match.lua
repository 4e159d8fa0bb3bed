-- match (read only): the active webhooks subscribed to an event.
--
-- KEYS[1..] the match-index sets to union: K.."sub:"..scope..":"..pattern
--         for the scopes "s" (system-wide) and "c"..company, and the
--         patterns "*", the event type, and each "resource.*" that could
--         select it
-- ARGV[1] K
--
-- Returns an array of webhook hashes (HGETALL, then "id", ID), by ID.
-- The sets hold only active webhooks; set_active, complete and
-- delete_webhook keep them so.
local ids = redis.call('SUNION', unpack(KEYS))
table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)
local out = {}
for _, w in ipairs(ids) do
  local h = redis.call('HGETALL', whkey(w))
  if #h > 0 then
    h[#h + 1] = 'id'
    h[#h + 1] = w
    out[#out + 1] = h
  end
end
return out
