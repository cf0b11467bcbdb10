-- Shared by the load scripts (`cargo bench --bench load` runs them with wrk): numbers the
-- threads, counts failed answers per thread, and prints one JSON summary line that the harness
-- reads. A script lists in `report` the per-thread counters it wants summed and listed.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- The number of wrk threads (`-t`), which each script needs to share out its inputs.
threads_total = tonumber(os.getenv("ROSTER_LOAD_THREADS") or "1")
failures = 0
report = report or { "failures" }

local function list(values)
  local out = {}
  for i, v in ipairs(values) do out[i] = string.format("%d", v) end
  return "[" .. table.concat(out, ",") .. "]"
end

function done(summary, latency, requests)
  local fields = {}
  for _, name in ipairs(report) do
    local per_thread = {}
    for i, t in ipairs(threads) do per_thread[i] = t:get(name) or 0 end
    table.insert(fields, string.format('"%s":%s', name, list(per_thread)))
  end
  local e = summary.errors
  io.write(string.format(
    'ROSTER_LOAD {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"status_errors":%d,"timeouts":%d,%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write, e.status, e.timeout, table.concat(fields, ",")))
end
