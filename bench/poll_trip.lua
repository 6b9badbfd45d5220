-- wrk: widgets polling one trip's JSON conditionally, as embed/widget.js does for live
-- progress: each request from one of 5,000 widget addresses (X-Forwarded-For, from the
-- trusted front), with If-None-Match set to the last ETag this wrk thread saw.
local counter = 0
local etag = nil

request = function()
  counter = counter + 1
  local n = counter % 5000
  wrk.headers["X-Forwarded-For"] = string.format("198.30.%d.%d", math.floor(n / 250), n % 250 + 1)
  if etag then
    wrk.headers["If-None-Match"] = etag
  end
  return wrk.format(nil, nil)
end

response = function(status, headers, body)
  if headers["ETag"] then
    etag = headers["ETag"]
  end
end
