-- Publish publications: per publication dedup, offset, stream entry and
-- notification; the whole call is atomic. One call carries groups of
-- publications, one group per channel (several channels of one server, one
-- channel on Redis Cluster); a group's publications are in their order.
-- Every redis.call costs Lua overhead (more than the command itself for
-- HSET, EXPIRE and PUBLISH), so the meta hash is read and written once per
-- group, and the expiry is refreshed only when the last refresh is older
-- than ARGV[3]; per publication there are only XADD and PUBLISH.
-- KEYS[2g-1] stream, KEYS[2g] meta hash of group g (same {channel} tag)
-- ARGV[1] approximate stream length (MAXLEN ~)
-- ARGV[2] expiry to set, milliseconds: history ttl + ARGV[3], so a channel
--         lives at least its history ttl after its last publication
-- ARGV[3] refresh interval of the expiry, milliseconds
-- ARGV[4] "publish" or "spublish" (Redis Cluster)
-- then per group: pub/sub channel, epoch to use when the channel has none,
-- count n, and n times: data, spool id ("" = no dedup), seq.
-- Meta hash fields: e epoch, o top offset, sp/sq spool id and its last seq,
-- x the time of the last expiry refresh (Redis clock, milliseconds).
-- Returns per group: epoch, then per publication its offset, or for a
-- duplicate -(top+1) with top the channel's top offset then. The
-- notification payload is "<offset> <epoch> <data>".
local t = redis.call("time")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxlen, expiry, every, pubcmd = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local res = {}
local j = 4
for g = 1, #KEYS / 2 do
  local s, m = KEYS[2 * g - 1], KEYS[2 * g]
  local chan, n = ARGV[j + 1], tonumber(ARGV[j + 3])
  local meta = redis.call("hmget", m, "e", "o", "sp", "sq", "x")
  local epoch, top, sp, sqs = meta[1], tonumber(meta[2] or "0"), meta[3], meta[4]
  local x = tonumber(meta[5] or "0")
  local fresh = false
  if not epoch then
    epoch, top, x, fresh = ARGV[j + 2], 0, 0, true
    -- A stream without meta belongs to a lost epoch: its ids would clash.
    redis.call("del", s)
  end
  local sq = tonumber(sqs or "0")
  local top0, sp0, sqs0 = top, sp, sqs
  j = j + 3
  res[#res + 1] = epoch
  -- First the dedup decisions, then the meta hash, then the entries: an
  -- entry that cannot be stored leaves a gap, never an offset that the
  -- next call would reuse.
  local first = #res
  for k = 1, n do
    local spool, seq = ARGV[j + 3 * k - 1], ARGV[j + 3 * k]
    if spool ~= "" and spool == sp and tonumber(seq) <= sq then
      res[first + k] = -(top + 1)
    else
      top = top + 1
      if spool ~= "" then
        sp, sqs, sq = spool, seq, tonumber(seq)
      end
      res[first + k] = top
    end
  end
  if top ~= top0 or fresh then
    -- Numbers are written with string.format("%d"): Lua's own conversion
    -- (tostring, ..) formats with "%.14g", the slowest part of the script.
    local o = string.format("%d", top)
    local changed = sp and (sp ~= sp0 or sqs ~= sqs0)
    if fresh or now - x >= every or now < x then
      local xs = string.format("%d", now)
      if changed then
        redis.call("hset", m, "e", epoch, "o", o, "sp", sp, "sq", sqs, "x", xs)
      else
        redis.call("hset", m, "e", epoch, "o", o, "x", xs)
      end
      redis.call("pexpire", m, expiry)
      -- The stream is refreshed below, once it exists.
      x = nil
    elseif changed and sp ~= sp0 then
      redis.call("hset", m, "o", o, "sp", sp, "sq", sqs)
    elseif changed then
      redis.call("hset", m, "o", o, "sq", sqs)
    else
      redis.call("hset", m, "o", o)
    end
    local prefix = " " .. epoch .. " "
    for k = 1, n do
      local off = res[first + k]
      if off > 0 then
        local offs = string.format("%d", off)
        local data = ARGV[j + 3 * k - 2]
        redis.call("xadd", s, "MAXLEN", "~", maxlen, offs .. "-0", "d", data)
        redis.call(pubcmd, chan, offs .. prefix .. data)
      end
    end
    if x == nil then
      redis.call("pexpire", s, expiry)
    end
  end
  j = j + 3 * n
end
return res
