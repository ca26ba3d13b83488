-- wrk script: POST one request per line of BODIES_FILE, from line START on, the threads taking turns; optional
-- pacing. A line is a JSON body, or tab-separated "Name: value" headers followed by the body (signed shop
-- requests; JSON never holds a raw tab).
-- Env: BODIES_FILE, START (0-based line to begin at), THREADS (wrk's -t), AUTH (full Authorization header
-- value, optional), DELAY_MS (per-connection pause), SENT_AT (if set, each request says when wrk sent it in an
-- X-Sent-At header, microseconds since the epoch: benchmarks/traced_app.py reads it).
-- Thread i sends lines START + i - 1, then every THREADS-th after it, so no line is sent twice in a run unless
-- the file runs out (then it starts over); the summary's "next" is the first line no thread reached, where
-- the caller's next run on the file begins. A run that must meet only unseen lines (a cold cache, new events)
-- thus never replays an earlier run's.
-- Each pause is drawn at random around DELAY_MS (exponentially, that mean), so paced connections send at
-- independent moments as real shops do. With the same pause everywhere, every connection (which wrk also
-- pauses before its first request) sent at the same instant, round after round: "half load" was a burst of all
-- of them at once, then nothing. A gevent worker that waits on PostgreSQL interleaves such a burst's requests,
-- so all of them answered as late as its last one and the burst stayed together.
-- The summary line names each kind of error wrk counts (connect, read, write, timeout: no answer within
-- wrk's 2 s, which also leaves the request out of the latency figures) and every status >= 400 answered.
local requests = {}
position = 0  -- the next line this thread sends (read by done())
lines = 0
local auth = os.getenv("AUTH")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local start = tonumber(os.getenv("START") or "0")
local stride = tonumber(os.getenv("THREADS") or "1")
local threads = {}
statuses = {}
local sent_at = os.getenv("SENT_AT")
local clock, now
if sent_at then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } cb_timespec;
    int clock_gettime(int clk_id, cb_timespec *tp);
  ]]
  clock = ffi.new("cb_timespec")
  now = function()  -- CLOCK_REALTIME, as Python's time.time()
    ffi.C.clock_gettime(0, clock)
    return string.format("%d%06d", tonumber(clock.tv_sec), math.floor(tonumber(clock.tv_nsec) / 1000))
  end
end

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("seed", #threads)
end

function init(args)
  for line in io.lines(os.getenv("BODIES_FILE")) do
    local headers = { ["Content-Type"] = "application/json" }
    if auth then headers["Authorization"] = auth end
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
    for i = 1, #fields - 1 do
      local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    requests[#requests + 1] = wrk.format("POST", nil, headers, fields[#fields])
  end
  lines = #requests
  math.randomseed(seed)  -- each thread its own pauses, the same in every run
  position = start + seed - 1
end

function request()
  local line = requests[position % #requests + 1]
  position = position + stride
  if sent_at then  -- after the request line
    local line_end = string.find(line, "\r\n", 1, true)
    return string.sub(line, 1, line_end + 1) .. "X-Sent-At: " .. now() .. string.sub(line, line_end)
  end
  return line
end

function response(status, headers, body)
  if status > 399 then
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function delay()
  if delay_ms == 0 then return 0 end
  -- At most 4 means (e^-4 of pauses, 2 % of the mean cut off) and under gunicorn's keep-alive of 5 s.
  return math.min(-math.log(1 - math.random()) * delay_ms, 4 * delay_ms, 4000)
end

function done(summary, latency, requests)
  local counts = {}
  local next_line = start
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do counts[status] = (counts[status] or 0) + count end
    next_line = math.max(next_line, thread:get("position"))
  end
  local by_status = {}
  for status, count in pairs(counts) do by_status[#by_status + 1] = string.format("\"%s\": %d", status, count) end
  local e = summary.errors
  io.write(string.format("JSON {\"next\": %d, \"lines\": %d, \"requests\": %d, \"seconds\": %.3f, \"errors\": %d, \"non2xx\": %d, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"mean_ms\": %.2f, \"error_kinds\": {\"connect\": %d, \"read\": %d, \"write\": %d, \"timeout\": %d}, \"statuses\": {%s}}\n",
    next_line, threads[1]:get("lines"), summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.timeout, table.concat(by_status, ", ")))
end
