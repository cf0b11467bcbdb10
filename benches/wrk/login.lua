-- Provider logins through the sandbox: ROSTER_LOAD_FILE lists provider redirects (the callback
-- path with a fresh code and state, one per line, as the browser brings them after a scan).
-- Each is followed to the SPA with a ticket, which is then redeemed for tokens: a login is
-- counted when `redeemLoginTicket` answers with an access token. Codes are single-use, so a
-- thread that runs out stops and reports `exhausted`.

report = { "failures", "logins", "exhausted" }
dofile(os.getenv("ROSTER_LOAD_LUA") .. "/common.lua")

logins, exhausted = 0, 0
local paths, next_path, tickets = {}, 1, {}
local redeem = '{"query":"mutation($t: String!) { redeemLoginTicket(ticket: $t) { accessToken } }",'
  .. '"variables":{"t":"%s"}}'
local json = { ["Content-Type"] = "application/json" }

function init(args)
  local i = 0
  for line in io.lines(os.getenv("ROSTER_LOAD_FILE")) do
    if i % threads_total == id then table.insert(paths, line) end
    i = i + 1
  end
end

function request()
  local ticket = table.remove(tickets)
  if ticket then
    return wrk.format("POST", "/graphql", json, string.format(redeem, ticket))
  end
  local path = paths[next_path]
  if not path then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  next_path = next_path + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status == 302 then
    local ticket = (headers["Location"] or headers["location"] or ""):match("[?&]ticket=([^&]+)")
    if ticket then
      table.insert(tickets, ticket)
    else
      failures = failures + 1
    end
  elseif status == 200 and body:find('"accessToken"', 1, true) and not body:find('"errors"', 1, true) then
    logins = logins + 1
  elseif exhausted == 0 then
    failures = failures + 1
  end
end
