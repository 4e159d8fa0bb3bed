-- enqueue: store events and one PENDING delivery per listed webhook.
--
-- KEYS[1] K.."seq:delivery"   counter of delivery IDs (INCRBY)
-- KEYS[2] K.."events"         zset of event IDs by creation time (purge)
-- KEYS[3] K.."leases"         zset of leased delivery IDs by lease expiry
-- KEYS[4] K.."hist"           zset of every delivery ID (score = ID)
-- KEYS[5] K.."created"        zset of delivery IDs by creation time (purge)
-- ARGV[1] K
-- ARGV[2] number of events; then for each event:
--         event ID, event type, company ID ("" = none), payload,
--         created (µs), lease expiry (µs, "0" = not leased),
--         number of webhook IDs n, then the n webhook IDs; an ID written
--         "!<id>" gets no lease even when the event has one
--         (EnqueueEvent.LeaseOnly)
--
-- Returns, per event in order: duplicate (1/0), number of deliveries m,
-- then m pairs delivery ID, webhook ID; flattened into one array.
--
-- An event whose K.."ev:"..ID exists is a duplicate and adds nothing (this
-- includes a repeat within the call). Otherwise the event hash keeps the
-- payload byte for byte and a count of its deliveries; each webhook that
-- exists (listed twice: once) gets a delivery hash, entries in the history
-- and status indexes, and either a place in its due zset K.."due:"..w
-- (and, if active, in K.."ready") or, when leased, a lease with token 1.
-- Creating a due delivery PUBLISHes on K.."wake".
local out = {}
local hooks = {} -- webhook ID -> its "active" field, or false when missing
local earliest = {} -- active webhook ID -> earliest due time of its new deliveries
local wake = false
local i = 3
for _ = 1, tonumber(ARGV[2]) do
  local eid, etype, co, payload, created, lease = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local nw = tonumber(ARGV[i + 6])
  local first = i + 7
  i = first + nw
  local ek = K .. 'ev:' .. eid
  if redis.call('EXISTS', ek) == 1 then
    out[#out + 1] = 1
    out[#out + 1] = 0
  else
    local seen, wids, unleased = {}, {}, {}
    for j = first, first + nw - 1 do
      local w = ARGV[j]
      if string.sub(w, 1, 1) == '!' then
        w = string.sub(w, 2)
        unleased[w] = true
      end
      if not seen[w] then
        seen[w] = true
        if hooks[w] == nil then hooks[w] = redis.call('HGET', whkey(w), 'active') end
        if hooks[w] then wids[#wids + 1] = w end
      end
    end
    if co ~= '' then
      redis.call('HSET', ek, 'payload', payload, 'type', etype, 'created', created, 'n', #wids, 'co', co)
    else
      redis.call('HSET', ek, 'payload', payload, 'type', etype, 'created', created, 'n', #wids)
    end
    zadd(KEYS[2], created, eid)
    out[#out + 1] = 0
    out[#out + 1] = #wids
    if #wids > 0 then
      local last = redis.call('INCRBY', KEYS[1], #wids)
      for n, w in ipairs(wids) do
        local id = istr(last - #wids + n)
        local wl = lease
        if unleased[w] then wl = '0' end
        local fields = {'id', id, 'ev', eid, 'type', etype, 'wh', w, 'status', 'PENDING', 'n', '0',
          'next', created, 'created', created, 'updated', created, 'tok', '0'}
        if co ~= '' then
          fields[#fields + 1] = 'co'
          fields[#fields + 1] = co
        end
        if wl ~= '0' then
          fields[20] = '1' -- tok
          fields[#fields + 1] = 'lease'
          fields[#fields + 1] = wl
        end
        redis.call('HSET', dkey(id), unpack(fields))
        zadd(KEYS[4], id, id)
        zadd(K .. 'hist:w:' .. w, id, id)
        index_status(id, w, nil, 'PENDING')
        zadd(KEYS[5], created, id)
        if wl ~= '0' then
          zadd(KEYS[3], wl, id)
        else
          zadd(duekey(w), created, dmember(id))
          if hooks[w] == '1' and (not earliest[w] or tonumber(created) < tonumber(earliest[w])) then
            earliest[w] = created
          end
          wake = true
        end
        out[#out + 1] = id
        out[#out + 1] = w
      end
    end
  end
end
zflush()
for w, at in pairs(earliest) do lower_ready(w, at) end
if wake then redis.call('PUBLISH', K .. 'wake', 'enqueue') end
return out
