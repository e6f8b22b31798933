-- The hub registry: register, unregister or list live hubs.
-- KEYS[1] hash id -> JSON, KEYS[2] zset id -> expiry (unix ms, Redis clock)
-- ARGV[1] "set", "del" or "list"; set: ARGV[2] id, ARGV[3] JSON, ARGV[4] ttl ms;
-- del: ARGV[2] id.
-- list drops expired entries and returns the JSON of the others.
local t = redis.call("time")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == "set" then
  redis.call("hset", KEYS[1], ARGV[2], ARGV[3])
  redis.call("zadd", KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
  return {}
end
if ARGV[1] == "del" then
  redis.call("hdel", KEYS[1], ARGV[2])
  redis.call("zrem", KEYS[2], ARGV[2])
  return {}
end
local expired = redis.call("zrangebyscore", KEYS[2], "-inf", now)
for _, id in ipairs(expired) do
  redis.call("hdel", KEYS[1], id)
  redis.call("zrem", KEYS[2], id)
end
local ids = redis.call("zrange", KEYS[2], 0, -1)
if #ids == 0 then
  return {}
end
return redis.call("hmget", KEYS[1], unpack(ids))
