-- wrk script: POST one request per line of BODIES_FILE, round robin per thread; optional pacing.
-- A line is a JSON body, or tab-separated "Name: value" headers followed by the body (signed shop requests;
-- JSON never holds a raw tab).
-- Env: BODIES_FILE, AUTH (full Authorization header value, optional), DELAY_MS (per-connection pause).
local requests = {}
local index = 0
local auth = os.getenv("AUTH")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

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
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"errors\": %d, \"non2xx\": %d, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"mean_ms\": %.2f}\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
