-- Read a channel's position and history; creates the epoch of a new channel.
-- KEYS[1] stream, KEYS[2] meta hash
-- ARGV[1] epoch to use when the channel has none
-- ARGV[2] history ttl, seconds (for a meta hash created here)
-- ARGV[3] "since", "last" or "none"
-- ARGV[4] since: the offset after which to read; last: how many
-- ARGV[5] history size: offsets older than top-size+1 count as trimmed,
--         whatever MAXLEN ~ left in the stream
-- ARGV[6] since: the epoch of the since position
-- Returns {epoch, top, entries}; entries as XRANGE returns them, ascending
-- for "since", descending for "last".
local epoch = redis.call("hget", KEYS[2], "e")
if not epoch then
  epoch = ARGV[1]
  redis.call("del", KEYS[1])
  redis.call("hset", KEYS[2], "e", epoch)
  redis.call("expire", KEYS[2], ARGV[2])
end
local top = tonumber(redis.call("hget", KEYS[2], "o") or "0")
local size = tonumber(ARGV[5])
local lowest = top - size + 1
if lowest < 1 then
  lowest = 1
end
local entries = {}
if ARGV[3] == "since" then
  local from = tonumber(ARGV[4]) + 1
  if ARGV[6] == epoch and from >= lowest and from <= top then
    entries = redis.call("xrange", KEYS[1], from .. "-0", "+")
  end
elseif ARGV[3] == "last" then
  local n = tonumber(ARGV[4])
  if n > size then
    n = size
  end
  if n > 0 and top > 0 then
    entries = redis.call("xrevrange", KEYS[1], "+", "-", "COUNT", n)
  end
end
return {epoch, top, entries}
