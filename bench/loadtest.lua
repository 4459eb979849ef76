-- bench/loadtest.lua: wrk script for bench/loadtest.sh, the anchor sluice-loadtest is measured
-- against. Every request is the POST /v1/submissions sluice-loadtest sends: the same request line
-- and headers (Host, User-Agent, Authorization, Content-Type, Idempotency-Key, Content-Length), a
-- realistic body (LOADTEST_BODY, from `sluice-loadtest body`, with each practice's own code put in
-- its "practice" field), rotating through the practices of the tokens file, with a fresh
-- Idempotency-Key each: "<LOADTEST_KEY_PREFIX>-<BENCH_RUN>-<wrk thread id>-<request number>".
--
-- Environment: LOADTEST_TOKENS (PRACTICE,TOKEN lines), LOADTEST_BODY (a body file whose
-- "practice" is LOADTEST_BODY_PRACTICE), LOADTEST_KEY_PREFIX, BENCH_RUN (set by bench/lib.sh).
--
-- Requests are put together from strings prepared once per practice in init(): per request, wrk
-- pays one concatenation, like admission.lua.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local heads = {}   -- per practice: request line and headers, up to "Idempotency-Key: "
local tails = {}   -- per practice: "\r\nContent-Length: N\r\n\r\n" .. body
local count = 0
local position = 0
local key_prefix
sent = 0

local function read_all(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

function init(args)
   local tokens_file = os.getenv("LOADTEST_TOKENS")
   local body_file = os.getenv("LOADTEST_BODY")
   local body_practice = os.getenv("LOADTEST_BODY_PRACTICE")
   local prefix = os.getenv("LOADTEST_KEY_PREFIX")
   if not tokens_file or not body_file or not body_practice or not prefix then
      error("loadtest.lua: set LOADTEST_TOKENS, LOADTEST_BODY, LOADTEST_BODY_PRACTICE and LOADTEST_KEY_PREFIX")
   end
   local template = read_all(body_file):gsub("%s+$", "")
   local field = '"practice":"' .. body_practice .. '"'
   local at = template:find(field, 1, true)
   if not at then
      error("loadtest.lua: " .. body_file .. " has no " .. field)
   end
   local before, after = template:sub(1, at - 1), template:sub(at + #field)
   local host = wrk.host .. (wrk.port and (":" .. wrk.port) or "")
   for line in io.lines(tokens_file) do
      local practice, token = line:match("^(%u%d%d%d%d%d),([%w_-]+)$")
      if practice then
         local body = before .. '"practice":"' .. practice .. '"' .. after
         count = count + 1
         heads[count] = "POST /v1/submissions HTTP/1.1\r\n" ..
            "Host: " .. host .. "\r\n" ..
            "User-Agent: sluice-loadtest\r\n" ..
            "Authorization: Bearer " .. token .. "\r\n" ..
            "Content-Type: application/json\r\n" ..
            "Idempotency-Key: "
         tails[count] = "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
      end
   end
   if count == 0 then
      error("loadtest.lua: no PRACTICE,TOKEN lines in " .. tokens_file)
   end
   position = (id * 7919) % count
   key_prefix = prefix .. "-" .. (os.getenv("BENCH_RUN") or "run") .. "-" .. id .. "-"
end

function request()
   position = position % count + 1
   sent = sent + 1
   return heads[position] .. key_prefix .. sent .. tails[position]
end

function done(summary, latency, requests)
   local total = 0
   for _, thread in ipairs(threads) do
      total = total + (tonumber(thread:get("sent")) or 0)
   end
   io.write(string.format("loadtest.lua: sent %d\n", total))
end
