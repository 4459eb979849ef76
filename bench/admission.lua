-- bench/admission.lua: wrk script for bench/admission.sh. Every request is a valid
-- POST /v1/submissions for the next of the practices in the tokens file (PRACTICE,TOKEN lines, as
-- written by `sluice-token generate`), rotating through all of them, with a fresh
-- Idempotency-Key: "<ADMISSION_KEY_PREFIX>-<BENCH_RUN>-<wrk thread id>-<request number>", unique
-- across wrk's threads (setup() numbers them) and runs (the prefix is new per script run,
-- BENCH_RUN names the warm-up and the measured run).
--
-- Environment: ADMISSION_TOKENS (the tokens file, required), ADMISSION_KEY_PREFIX (required),
-- BENCH_RUN (set by bench/lib.sh's measure).
--
-- Requests are put together from strings prepared once per practice in init(), so the client
-- spends as little as possible per request (wrk shares the 2 cores with the servers). done()
-- prints "admission.lua: sent N" (requests written, whether or not wrk read their answer before
-- it stopped), so the caller can account for the requests still in flight at the end.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local heads = {}   -- per practice: request line and headers, up to "Idempotency-Key: "
local bodies = {}  -- per practice: "\r\n\r\n" .. body
local count = 0
local position = 0
local key_prefix
sent = 0

local body_format = '{"practice":"%s","period":"2024-25","scheme":"QOF","list_size":8123,' ..
   '"items":[{"code":"AF006","numerator":120,"denominator":140,"pca":6},' ..
   '{"code":"HYP008","numerator":950,"denominator":1210}],' ..
   '"registers":[{"condition":"AF","size":201},{"condition":"HYP","size":1312}]}'

function init(args)
   local tokens_file = os.getenv("ADMISSION_TOKENS")
   local prefix = os.getenv("ADMISSION_KEY_PREFIX")
   if not tokens_file or not prefix then
      error("admission.lua: set ADMISSION_TOKENS and ADMISSION_KEY_PREFIX")
   end
   local host = wrk.host .. (wrk.port and (":" .. wrk.port) or "")
   local file = assert(io.open(tokens_file, "r"))
   for line in file:lines() do
      local practice, token = line:match("^(%u%d%d%d%d%d),([%w_-]+)$")
      if practice then
         local body = string.format(body_format, practice)
         count = count + 1
         heads[count] = "POST /v1/submissions HTTP/1.1\r\n" ..
            "Host: " .. host .. "\r\n" ..
            "Authorization: Bearer " .. token .. "\r\n" ..
            "Content-Type: application/json\r\n" ..
            "Content-Length: " .. #body .. "\r\n" ..
            "Idempotency-Key: "
         bodies[count] = "\r\n\r\n" .. body
      end
   end
   file:close()
   if count == 0 then
      error("admission.lua: no PRACTICE,TOKEN lines in " .. tokens_file)
   end
   -- Threads start at different practices, so they do not all hit the same one at once.
   position = (id * 7919) % count
   key_prefix = prefix .. "-" .. (os.getenv("BENCH_RUN") or "run") .. "-" .. id .. "-"
end

function request()
   position = position % count + 1
   sent = sent + 1
   return heads[position] .. key_prefix .. sent .. bodies[position]
end

function done(summary, latency, requests)
   local total = 0
   for _, thread in ipairs(threads) do
      total = total + (tonumber(thread:get("sent")) or 0)
   end
   io.write(string.format("admission.lua: sent %d\n", total))
end
