-- Publish one publication: dedup, offset, stream, notification; atomic.
-- KEYS[1] stream, KEYS[2] meta hash (same {channel} hash tag)
-- ARGV[1] data
-- ARGV[2] approximate stream length (MAXLEN ~)
-- ARGV[3] history ttl, seconds
-- ARGV[4] pub/sub channel
-- ARGV[5] epoch to use when the channel has none
-- ARGV[6] spool id ("" = no dedup)
-- ARGV[7] seq
-- ARGV[8] "publish" or "spublish" (Redis Cluster)
-- Returns {epoch, offset, duplicate (0|1)}; for a duplicate the offset is the
-- channel's top. The notification payload is "<offset> <epoch> <data>".
local epoch = redis.call("hget", KEYS[2], "e")
if not epoch then
  epoch = ARGV[5]
  -- A stream without meta belongs to a lost epoch: its ids would clash.
  redis.call("del", KEYS[1])
  redis.call("hset", KEYS[2], "e", epoch)
end
if ARGV[6] ~= "" then
  local last = redis.call("hmget", KEYS[2], "sp", "sq", "o")
  if last[1] == ARGV[6] and tonumber(ARGV[7]) <= tonumber(last[2]) then
    return {epoch, tonumber(last[3] or "0"), 1}
  end
end
local off = redis.call("hincrby", KEYS[2], "o", 1)
if ARGV[6] ~= "" then
  redis.call("hset", KEYS[2], "sp", ARGV[6], "sq", ARGV[7])
end
redis.call("xadd", KEYS[1], "MAXLEN", "~", ARGV[2], off .. "-0", "d", ARGV[1])
redis.call("expire", KEYS[1], ARGV[3])
redis.call("expire", KEYS[2], ARGV[3])
redis.call(ARGV[8], ARGV[4], off .. " " .. epoch .. " " .. ARGV[1])
return {epoch, off, 0}
