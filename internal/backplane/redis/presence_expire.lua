-- Turn devices whose entry expired offline and publish the change. Any
-- number of hubs may run it; each expiry is handled once.
-- KEYS as in presence_set.lua
-- ARGV[1] most entries to handle, ARGV[2] pub/sub channel,
-- ARGV[3] "publish" or "spublish"
-- Returns how many entries expired.
local t = redis.call("time")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call("zrangebyscore", KEYS[3], "-inf", now, "LIMIT", 0, ARGV[1])
for _, id in ipairs(ids) do
  redis.call("zrem", KEYS[3], id)
  local v = redis.call("hget", KEYS[1], id)
  if v then
    v = "0" .. string.sub(v, 2)
    redis.call("hset", KEYS[1], id, v)
    redis.call("hdel", KEYS[2], id)
    redis.call(ARGV[3], ARGV[2], v)
  end
end
return #ids
