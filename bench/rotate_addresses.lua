-- wrk: each request comes "through the load balancer" from one of 300 fan addresses
-- (X-Forwarded-For), as carrier NAT and stadium Wi-Fi spread real fans.
local counter = 0
request = function()
  counter = counter + 1
  local n = counter % 300
  wrk.headers["X-Forwarded-For"] = string.format("198.18.%d.%d", math.floor(n / 250), n % 250 + 1)
  return wrk.format(nil, nil)
end
