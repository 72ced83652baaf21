-- wrk script: POST Procore-shaped webhook events to `serve`, each with a fresh event id, and
-- every fifth one a redelivery of the one before (same ulid). Tallies the answers per thread:
-- 202 = kept, 200 = redelivery dropped, anything else = a failure.
local threads = {}
local counter = 0
local previous = nil

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  accepted, duplicates, failures = 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("MLC_LOAD_SECRET")
end

function request()
  local id
  if previous ~= nil and counter % 5 == 4 then
    id = previous
  else
    id = string.format("load-%d-%d", tid, counter)
  end
  counter = counter + 1
  previous = id
  local body = string.format('{"id":%d,"ulid":"%s","event_type":"update","resource_name":"Direct Costs","resource_id":%d,"company_id":8,"project_id":101}', counter, id, counter)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 202 then accepted = accepted + 1
  elseif status == 200 then duplicates = duplicates + 1
  else failures = failures + 1 end
end

function done(summary, latency, requests)
  local a, d, f = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted"); d = d + t:get("duplicates"); f = f + t:get("failures")
  end
  io.write(string.format("ANSWERS accepted=%d duplicates=%d failures=%d\n", a, d, f))
  io.write(string.format("LATENCY p50=%.2fms p99=%.2fms max=%.2fms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
