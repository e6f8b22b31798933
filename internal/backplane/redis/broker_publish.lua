-- Publish publications: per publication dedup, offset, stream entry and
-- notification; the whole call is atomic. One call may carry publications
-- of several channels of one server (the pipeline batches them; the Lua
-- call overhead is paid once).
-- KEYS[2i-1] stream, KEYS[2i] meta hash of publication i (same {channel} tag)
-- ARGV[1] approximate stream length (MAXLEN ~)
-- ARGV[2] history ttl, seconds
-- ARGV[3] "publish" or "spublish" (Redis Cluster)
-- then per publication i, at j = 3 + 5(i-1):
--   ARGV[j+1] data, ARGV[j+2] pub/sub channel, ARGV[j+3] epoch to use when
--   the channel has none, ARGV[j+4] spool id ("" = no dedup), ARGV[j+5] seq
-- Returns {epoch, offset, duplicate (0|1)} per publication, flattened; for
-- a duplicate the offset is the channel's top. The notification payload is
-- "<offset> <epoch> <data>".
local res = {}
for i = 1, #KEYS / 2 do
  local s, m = KEYS[2 * i - 1], KEYS[2 * i]
  local j = 3 + 5 * (i - 1)
  local data, chan, spool, seq = ARGV[j + 1], ARGV[j + 2], ARGV[j + 4], ARGV[j + 5]
  -- One read and one write of the meta hash per publication: every call
  -- costs Lua overhead, on the hot path of the whole region.
  local meta = redis.call("hmget", m, "e", "o", "sp", "sq")
  local epoch, top = meta[1], tonumber(meta[2] or "0")
  if not epoch then
    epoch = ARGV[j + 3]
    top = 0
    -- A stream without meta belongs to a lost epoch: its ids would clash.
    redis.call("del", s)
  end
  if spool ~= "" and meta[3] == spool and tonumber(seq) <= tonumber(meta[4]) then
    res[#res + 1] = epoch
    res[#res + 1] = top
    res[#res + 1] = 1
  else
    local off = top + 1
    if spool ~= "" then
      redis.call("hset", m, "e", epoch, "o", off, "sp", spool, "sq", seq)
    else
      redis.call("hset", m, "e", epoch, "o", off)
    end
    redis.call("xadd", s, "MAXLEN", "~", ARGV[1], off .. "-0", "d", data)
    redis.call("expire", s, ARGV[2])
    redis.call("expire", m, ARGV[2])
    redis.call(ARGV[3], chan, off .. " " .. epoch .. " " .. data)
    res[#res + 1] = epoch
    res[#res + 1] = off
    res[#res + 1] = 0
  end
end
return res
