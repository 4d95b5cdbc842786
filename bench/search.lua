-- search.lua - wrk script for bench/http_bench.py: POST one search per
-- request, the body given in the SEARCH_BODY_FILE environment variable.
local f = assert(io.open(os.getenv("SEARCH_BODY_FILE"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
