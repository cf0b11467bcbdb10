-- One GraphQL request, sent again and again: ROSTER_LOAD_BODY (JSON) with the bearer token
-- ROSTER_LOAD_TOKEN. An answer that is not 200 or carries `errors` counts as a failure.

report = { "failures" }
dofile(os.getenv("ROSTER_LOAD_LUA") .. "/common.lua")

wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ROSTER_LOAD_TOKEN")
wrk.body = os.getenv("ROSTER_LOAD_BODY")

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    failures = failures + 1
  end
end
