-- wrk script for bench/webhooks.py: cycles through pre-generated signed webhooks.
--
--   wrk -t T -c C -d 10s --timeout 10s -s bench/webhooks.lua http://127.0.0.1:PORT -- FILE T
--
-- FILE holds one request a line: "<path>\t<X-ZEvent-Signature>\t<compact JSON body>".
-- Thread k of T takes lines k, k+T, k+2T, ... so no two threads send the same
-- message. A thread that runs out starts again from its first line and counts
-- a wrap (its repeats are then duplicates, which the caller reports).
-- done() prints one line "WRKJSON {...}" with the figures; latencies in microseconds.

local next_id = 0
local threads = {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs = {}
  local line_no = 0
  for line in io.lines(file) do
    if line_no % nthreads == id then
      local path, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-ZEvent-Signature"] = sig,
      }, body)
    end
    line_no = line_no + 1
  end
  index = 0
  wraps = 0
  non200 = 0
  duplicates = 0
end

function request()
  index = index + 1
  if index > #reqs then
    index = 1
    wraps = wraps + 1
  end
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
  local non, dup, wrapped = 0, 0, 0
  for _, t in ipairs(threads) do
    non = non + t:get("non200")
    dup = dup + t:get("duplicates")
    wrapped = wrapped + t:get("wraps")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"mean_us":%.1f,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"non200":%d,"duplicates":%d,' ..
    '"wraps":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, non, dup, wrapped))
end
