-- ratelimit/gcra.lua: the GCRA of ratelimit/gcra.hpp, for scripts that run inside Redis.
--
-- Not a script of its own: it is concatenated in front of the scripts that use it (see
-- cmake/embed.cmake and queue/CMakeLists.txt) and defines one local table, `gcra`, that they
-- call. It only reads and computes; the caller decides what to store.
--
-- Must decide exactly as gcra_check() in C++ does (an integration test runs both on the same
-- sequences). Redis's Lua 5.1 numbers are doubles: every value here is an integer number of
-- microseconds below 2^53 (config's ranges keep T <= 1e9 and tau <= 1e15; Redis TIME in µs is
-- ~1.7e15), so + - * are exact; division is corrected to exact integer division below, and a
-- tat is stored with string.format('%d') (tostring() would print 1.7e+15 and lose digits).
local gcra = {}

-- Bounds T for tiny, zero, negative or NaN rates (gcra.hpp: max_emission_interval_us).
gcra.max_emission_interval_us = 1000000000000000

-- T = floor(1e6 / rate + 0.5), clamped to [1, max]: the same double operations as C++.
function gcra.emission_interval_us(rate)
  local exact = 1000000 / rate
  if not (exact < gcra.max_emission_interval_us) or exact < 0 then
    return gcra.max_emission_interval_us
  end
  local interval = math.floor(exact + 0.5)
  if interval < 1 then
    interval = 1
  end
  return interval
end

-- floor(a / b) for integers 0 <= a, 1 <= b below 2^53, exact even where a / b rounds up.
function gcra.floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- ceil(a / b), same conditions.
function gcra.ceil_div(a, b)
  local q = gcra.floor_div(a, b)
  if q * b < a then
    q = q + 1
  end
  return q
end

-- How many more requests fit when the tat is `ahead` µs after now.
local function gcra_remaining(ahead, interval, tolerance, burst)
  if ahead > tolerance then
    return 0
  end
  local remaining = gcra.floor_div(tolerance - ahead, interval)
  if remaining > burst then
    remaining = burst
  end
  return remaining
end

-- One request at `now` against `tat` (nil: none stored, a full bucket).
-- Returns allowed, tat, remaining, retry_after_us, reset_after_us: as gcra_decision's fields
-- (allowed: the tat to store; denied: max(tat, now), store nothing).
function gcra.check(rate, burst, tat, now)
  local interval = gcra.emission_interval_us(rate)
  local tolerance = burst * interval
  local base = now
  if tat ~= nil and tat > now then
    base = tat
  end
  local new_tat = base + interval
  local ahead = new_tat - now
  if ahead <= tolerance then
    return true, new_tat, gcra_remaining(ahead, interval, tolerance, burst), 0, ahead
  end
  return false, base, 0, ahead - tolerance, base - now
end

-- The state at `now` without charging (gcra_peek): same returns as gcra.check.
function gcra.peek(rate, burst, tat, now)
  local interval = gcra.emission_interval_us(rate)
  local tolerance = burst * interval
  local base = now
  if tat ~= nil and tat > now then
    base = tat
  end
  local ahead = base - now
  local allowed = ahead + interval <= tolerance
  local retry_after = 0
  if not allowed then
    retry_after = ahead + interval - tolerance
  end
  return allowed, base, gcra_remaining(ahead, interval, tolerance, burst), retry_after, ahead
end

-- A stored tat (a string of digits, or false/nil when the key is missing) as a number or nil.
function gcra.decode(stored)
  if not stored then
    return nil
  end
  return tonumber(stored)
end

-- A tat as the exact string of digits to store.
function gcra.encode(tat)
  return string.format('%d', tat)
end

-- Redis's clock in µs (TIME: seconds and microseconds as strings).
function gcra.now_us()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000000 + tonumber(time[2])
end
