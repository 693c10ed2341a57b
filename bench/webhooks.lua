-- wrk script for bench/webhooks.py (run by bench/harness.py's wrk(), one wrk thread):
--
--   wrk -t1 -c C -d 10s --timeout 10s -s bench/webhooks.lua http://127.0.0.1:PORT -- FILE
--
-- FILE holds one request a line: "<path>\t<X-ZEvent-Signature>\t<compact JSON body>", sent in
-- order. When they run out it starts again (zalodesk answers the repeats as duplicates).
-- done() prints one line "WRKJSON {...}" with the figures; latencies in microseconds.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  for line in io.lines(args[1]) do
    local path, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["X-ZEvent-Signature"] = sig,
    }, body)
  end
  index, non200, duplicates = 0, 0, 0
end

function request()
  index = index % #reqs + 1
  return reqs[index]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body and body:find('"duplicate"', 1, true) then
    duplicates = duplicates + 1
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"non200":%d,"duplicates":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    t:get("non200"), t:get("duplicates")))
end
