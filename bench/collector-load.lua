-- wrk script for bench/collector.sh: each request is a new, valid lokiwrap report (a fresh id,
-- so none is a resend). Of the fingerprints, NOVEL_PERCENT are new crashes; the rest repeat
-- one of 100 known ones, as a popular tool's crashes do.
local novel_percent = tonumber(os.getenv("NOVEL_PERCENT") or "10")
local counter = 0
local thread_tag = 0

function setup(thread)
  thread_tag = thread_tag + 1
  thread:set("tag", thread_tag)
end

-- Several wrk processes at once (bench/collector_cluster.sh) each set LOAD_SEED apart, so that
-- their ids and new fingerprints differ: the same id twice would be counted once.
function init(args)
  tag = (tag or 0) + 1000 * tonumber(os.getenv("LOAD_SEED") or "0")
  math.randomseed(os.time() + tag * 7919)
end

local function uuid()
  counter = counter + 1
  return string.format("%08x-%04x-4%03x-8%03x-%012x",
    math.random(0, 0x7fffffff), (tag or 0) % 0x10000, math.random(0, 0xfff), math.random(0, 0xfff), counter)
end

local template = '{"schema":1,"id":"%s","captured_at":"2026-11-21T06:15:00Z","os":"linux","arch":"x86_64",'
  .. '"lokiwrap_version":"0.1.0","tool":"npm","tool_version":"10.%d.0","runtime":"node",'
  .. '"error_class":"%s","stack_signature":["Module._compile","Object.run","main"],"exit_code":1,'
  .. '"signal":null,"friction_kind":null,"phase":null,"project_id_hash":null,'
  .. '"fingerprint":"0000000000000000000000000000000000000000000000000000000000000000",'
  .. '"rules_version":1,"redactions_count":0}'

local headers = { ["Content-Type"] = "application/json" }

function request()
  local class
  if math.random(1, 100) <= novel_percent then
    class = string.format("NovelError%d_%d", tag or 0, counter)
  else
    class = string.format("TypeError%d", math.random(1, 100))
  end
  local body = string.format(template, uuid(), math.random(0, 9), class)
  return wrk.format("POST", "/v1/crash", headers, body)
end
