-- Concurrent batch updates: ROSTER_LOAD_DIR holds ROSTER_LOAD_FILES multipart requests
-- (`<k>.body`, boundary ROSTER_LOAD_BOUNDARY), each uploading a workbook that changes its own
-- members and asking for the result under the alias `f<k>`. Thread t sends files t, t+T, t+2T, …
-- in order and then again (the second time nothing may change). Each thread writes the files it
-- sent to `sent-<t>` and those answered as done to `answered-<t>`, for the harness to compare
-- with the database. (wrk calls request() once before the run to check it: that file is listed
-- as sent without having been.)

report = { "failures", "answered", "applied" }
dofile(os.getenv("ROSTER_LOAD_LUA") .. "/common.lua")

answered, applied = 0, 0
local files, next_file = {}, 0
local sent_log, answered_log
local headers = {
  ["Content-Type"] = "multipart/form-data; boundary=" .. os.getenv("ROSTER_LOAD_BOUNDARY"),
  ["Authorization"] = "Bearer " .. os.getenv("ROSTER_LOAD_TOKEN"),
}

function init(args)
  local dir = os.getenv("ROSTER_LOAD_DIR")
  for k = id, tonumber(os.getenv("ROSTER_LOAD_FILES")) - 1, threads_total do
    local f = assert(io.open(dir .. "/" .. k .. ".body", "rb"))
    table.insert(files, { k = k, body = f:read("*a") })
    f:close()
  end
  sent_log = assert(io.open(dir .. "/sent-" .. id, "w"))
  answered_log = assert(io.open(dir .. "/answered-" .. id, "w"))
end

function request()
  local file = files[(next_file % #files) + 1]
  next_file = next_file + 1
  sent_log:write(file.k, "\n")
  sent_log:flush()
  return wrk.format("POST", "/graphql", headers, file.body)
end

function response(status, headers, body)
  local k = body:match('"f(%d+)":')
  if status == 200 and k and not body:find('"errors"', 1, true) and body:find('"problems":[]', 1, true) then
    answered = answered + 1
    answered_log:write(k, "\n")
    answered_log:flush()
    if body:find('"applied":true', 1, true) then applied = applied + 1 end
  else
    failures = failures + 1
  end
end
