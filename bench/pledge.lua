-- wrk: POST one-seat pledges, each from a new fan (unique email) behind one of 1,000
-- forwarded addresses. wrk.thread ids keep emails unique across wrk threads.
local counter = 0
local thread_id = 0
local stop_id = os.getenv("BENCH_STOP_ID")
local run = os.getenv("BENCH_RUN") or "r"

function setup(thread)
  thread_id = thread_id + 1
  thread:set("thread_id", thread_id)
end

request = function()
  counter = counter + 1
  local n = counter * 7 + (thread_id or 0)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("198.19.%d.%d", math.floor(n % 1000 / 250), n % 250 + 1),
  }
  local body = string.format(
    '{"stop_id":"%s","seats":1,"name":"Bench Fan","email":"fan-%s-%d-%d@bench.example",' ..
    '"payment_method":"pm_card_visa"}', stop_id, run, thread_id or 0, counter)
  return wrk.format("POST", nil, headers, body)
end

-- With BENCH_THINK_MS, each connection waits that long on average (uniformly 0 to twice it)
-- before each pledge, as fans do: 200 connections then offer about 200 / (think + latency)
-- pledges a second instead of as many as the server can answer.
local think_ms = tonumber(os.getenv("BENCH_THINK_MS") or "0")

if think_ms > 0 then
  delay = function()
    return math.random(0, 2 * think_ms)
  end
end
