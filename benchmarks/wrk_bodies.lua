-- wrk script: POST one JSON body per line of BODIES_FILE, round robin per thread; optional pacing.
-- Env: BODIES_FILE, AUTH (full Authorization header value, optional), DELAY_MS (per-connection pause).
local bodies = {}
local index = 0
local auth = os.getenv("AUTH")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

function init(args)
  for line in io.lines(os.getenv("BODIES_FILE")) do
    bodies[#bodies + 1] = line
  end
  index = math.random(#bodies)
end

function request()
  index = index % #bodies + 1
  local headers = { ["Content-Type"] = "application/json" }
  if auth then headers["Authorization"] = auth end
  return wrk.format("POST", nil, headers, bodies[index])
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
