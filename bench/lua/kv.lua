-- wrk script for bench/bench.py: one request shape per run, chosen by the first script argument.
--   wrk -t2 -c64 -d20s -s kv.lua http://HOST:PORT -- MODE KEYS VALUE_BYTES
-- MODE: cairn_put | cairn_get_consistent | cairn_get_stale |
--       etcd_put  | etcd_get_linear      | etcd_get_serializable
-- Keys are bench/k0000 .. bench/k<KEYS-1>; each request picks one at random. The requests are
-- formatted once per thread in init(); done() prints one "BENCHJSON {...}" line for bench.py.

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1) ..
        (b and b64chars:sub(c3 + 1, c3 + 1) or "=") .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

local function value_for(i, size)
  -- printable, different per key, exactly `size` bytes
  local seed = string.format("v%05d-", i)
  local s = string.rep(seed, math.ceil(size / #seed))
  return s:sub(1, size)
end

local reqs = {}
local nreqs = 0
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
end

function init(args)
  local mode = args[1] or "cairn_put"
  local keys = tonumber(args[2] or "1000")
  local vsize = tonumber(args[3] or "256")
  math.randomseed(os.time() * 100 + (tonumber(id) or 0))
  for i = 0, keys - 1 do
    local key = string.format("bench/k%04d", i)
    local r
    if mode == "cairn_put" then
      r = wrk.format("PUT", "/v1/kv/" .. key, nil, value_for(i, vsize))
    elseif mode == "cairn_get_consistent" then
      r = wrk.format("GET", "/v1/kv/" .. key .. "?consistent")
    elseif mode == "cairn_get_stale" then
      r = wrk.format("GET", "/v1/kv/" .. key .. "?stale")
    elseif mode == "etcd_put" then
      r = wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
          '{"key":"' .. b64(key) .. '","value":"' .. b64(value_for(i, vsize)) .. '"}')
    elseif mode == "etcd_get_linear" then
      r = wrk.format("POST", "/v3/kv/range", {["Content-Type"] = "application/json"},
          '{"key":"' .. b64(key) .. '"}')
    elseif mode == "etcd_get_serializable" then
      r = wrk.format("POST", "/v3/kv/range", {["Content-Type"] = "application/json"},
          '{"key":"' .. b64(key) .. '","serializable":true}')
    else
      error("unknown mode " .. mode)
    end
    reqs[i + 1] = r
  end
  nreqs = keys
end

function request()
  return reqs[math.random(nreqs)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
      '"err_write":%d,"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,"lat_max_us":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
