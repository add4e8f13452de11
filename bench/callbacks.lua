-- wrk script for bench/callbacks.py: each thread posts its share of pre-signed callbacks,
-- in order, for wrk's whole duration. Arguments: the Lua file of callbacks, the thread
-- count. wrk asks for one request before the run that it never sends: that callback is
-- simply never posted. A share that runs out starts again (a provider's repeat, counted
-- apart by the benchmark).
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local all = dofile(args[1])
  local step = tonumber(args[2])
  mine = {}
  for i = id + 1, #all, step do
    mine[#mine + 1] = all[i]
  end
  sent = 0
end

function request()
  local item = mine[sent % #mine + 1]
  sent = sent + 1
  return wrk.format("POST", nil, item.h, item.b)
end

function done(summary, latency, requests)
  io.write(string.format(
    "MALIPO requests=%d duration_us=%d non2xx=%d timeouts=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.timeout,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    latency:percentile(50), latency:percentile(99)))
end
