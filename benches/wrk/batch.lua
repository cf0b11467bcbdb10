-- Concurrent batch updates: ROSTER_LOAD_DIR holds ROSTER_LOAD_FILES multipart requests
-- (`<k>.body`, boundary ROSTER_LOAD_BOUNDARY), each uploading a workbook that changes its own
-- members. Thread t sends files t, t+T, t+2T, … in order and then again (the second time
-- nothing may change). Run with one connection per thread, so that the harness knows which
-- files were answered: the first `answered` of a thread's files; `sent` counts those on the way.

report = { "failures", "sent", "answered", "applied" }
dofile(os.getenv("ROSTER_LOAD_LUA") .. "/common.lua")

sent, answered, applied = 0, 0, 0
local bodies = {}
local headers = {
  ["Content-Type"] = "multipart/form-data; boundary=" .. os.getenv("ROSTER_LOAD_BOUNDARY"),
  ["Authorization"] = "Bearer " .. os.getenv("ROSTER_LOAD_TOKEN"),
}

function init(args)
  local dir = os.getenv("ROSTER_LOAD_DIR")
  for k = id, tonumber(os.getenv("ROSTER_LOAD_FILES")) - 1, threads_total do
    local f = assert(io.open(dir .. "/" .. k .. ".body", "rb"))
    table.insert(bodies, f:read("*a"))
    f:close()
  end
end

function request()
  local body = bodies[(sent % #bodies) + 1]
  sent = sent + 1
  return wrk.format("POST", "/graphql", headers, body)
end

function response(status, headers, body)
  if status == 200 and not body:find('"errors"', 1, true) and body:find('"problems":[]', 1, true) then
    answered = answered + 1
    if body:find('"applied":true', 1, true) then applied = applied + 1 end
  else
    failures = failures + 1
  end
end
