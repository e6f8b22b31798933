-- Record a device's presence entry and publish it when it changed.
-- KEYS[1] hash id -> value ("1" or "0" for online, then JSON)
-- KEYS[2] hash id -> comparison key (the value without last_seen)
-- KEYS[3] zset id -> expiry, unix ms of the Redis clock
-- ARGV[1] id, ARGV[2] value, ARGV[3] comparison key
-- ARGV[4] ttl ms ("0": no expiry), ARGV[5] pub/sub channel
-- ARGV[6] "publish" or "spublish"
-- Returns 1 when the entry changed (and was published), else 0.
local old = redis.call("hget", KEYS[2], ARGV[1])
redis.call("hset", KEYS[1], ARGV[1], ARGV[2])
redis.call("hset", KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] ~= "0" then
  local t = redis.call("time")
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call("zadd", KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
else
  redis.call("zrem", KEYS[3], ARGV[1])
end
if old ~= ARGV[3] then
  redis.call(ARGV[6], ARGV[5], ARGV[2])
  return 1
end
return 0
