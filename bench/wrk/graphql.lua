-- wrk script: POST one GraphQL request per call and count what came back (issue 12 item 3:
-- no INTERNAL under load). Every response is checked, not sampled.
--
--   TOKEN=$(tsunagi token --account houkatsu-cw) \
--   QUERY='query Search($kana: String!) { persons(kana: $kana, first: 20) { nodes { id familyName } } }' \
--   VARIABLES='{"kana":"ヤ"}' \
--   wrk -t4 -c64 -d60s -s bench/wrk/graphql.lua http://127.0.0.1:8080/graphql
--
-- At the end it prints the status codes, how many bodies contain "INTERNAL", how many 503s
-- carried Retry-After and the code UNAVAILABLE, and how many 200s had `"data":null` or
-- errors. A run passes when INTERNAL = 0 and every non-200 is a 503 with Retry-After and
-- UNAVAILABLE ("bad" = 0).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local query = os.getenv("QUERY") or "{ __typename }"
  local variables = os.getenv("VARIABLES") or "{}"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
  -- QUERY is inserted as a JSON string: escape backslashes and quotes.
  local q = query:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", " ")
  wrk.body = '{"query":"' .. q .. '","variables":' .. variables .. '}'
  statuses = {}
  internal, shed_ok, null_data, errors200, bad = 0, 0, 0, 0, 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if body:find('"INTERNAL"', 1, true) then
    internal = internal + 1
  end
  if status == 200 then
    if body:find('"data":null', 1, true) then null_data = null_data + 1 end
    if body:find('"errors"', 1, true) then errors200 = errors200 + 1 end
  elseif status == 503 and (headers["Retry-After"] or headers["retry-after"])
      and body:find('"UNAVAILABLE"', 1, true) then
    shed_ok = shed_ok + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local all, totals = {}, { internal = 0, shed_ok = 0, null_data = 0, errors200 = 0, bad = 0 }
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do all[s] = (all[s] or 0) + n end
    for k, _ in pairs(totals) do totals[k] = totals[k] + t:get(k) end
  end
  local line = "status:"
  for s, n in pairs(all) do line = line .. " " .. s .. "=" .. n end
  print(line)
  print(string.format(
    "INTERNAL bodies=%d  503+Retry-After+UNAVAILABLE=%d  200 with data:null=%d  200 with errors=%d  bad=%d",
    totals.internal, totals.shed_ok, totals.null_data, totals.errors200, totals.bad))
  print(string.format("socket errors: connect=%d read=%d write=%d timeout=%d",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
