-- wrk script of bench/run. GET by default; with BENCH_TOKENS set, each
-- request is a consent POST carrying a token of its own from that file
-- (one per line; thread i takes lines i, i+n, ...), and a thread stops
-- when its tokens run out rather than replay one. done() prints one JSON
-- line that bench.py reads: counts, latency percentiles, statuses, and
-- the Consent-Receipt of every success (written to BENCH_RECEIPTS).

local tokens_file = os.getenv("BENCH_TOKENS")
local receipts_file = os.getenv("BENCH_RECEIPTS")
local body_fmt = "email=bench%%40example.org&consent=newsletter" ..
                 "&consent_token=%s"

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   threads[#threads + 1] = thread
end

function init(args)
   statuses = {}
   receipts = {}
   mine = {}
   next_token = 1
   if tokens_file then
      local i = 0
      for line in io.lines(tokens_file) do
         if i % counter_total() == id then
            mine[#mine + 1] = line
         end
         i = i + 1
      end
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   end
end

-- The number of threads, known to each thread through its environment.
function counter_total()
   return tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
end

function request()
   if not tokens_file then
      return wrk.format()
   end
   local t = mine[next_token]
   if t == nil then
      wrk.thread:stop()
      t = mine[#mine]
   end
   next_token = next_token + 1
   return wrk.format(nil, nil, nil, string.format(body_fmt, t))
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local r = headers["Consent-Receipt"]
   if receipts_file and r then
      receipts[#receipts + 1] = r
   end
end

function done(summary, latency, requests)
   local st, out = {}, nil
   if receipts_file then
      out = io.open(receipts_file, "w")
   end
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses")) do
         st[code] = (st[code] or 0) + n
      end
      if out then
         for _, r in ipairs(thread:get("receipts")) do
            out:write(r, "\n")
         end
      end
   end
   if out then
      out:close()
   end
   local parts = {}
   for code, n in pairs(st) do
      parts[#parts + 1] = string.format('"%d": %d', code, n)
   end
   local e = summary.errors
   io.write(string.format(
      '{"bench": 1, "requests": %d, "duration_us": %d, ' ..
      '"p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
      '"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
      '"timeout": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout,
      table.concat(parts, ", ")))
end
