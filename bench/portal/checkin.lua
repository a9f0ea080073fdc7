-- SPDX-License-Identifier: Apache-2.0
-- wrk script: idle device check-ins, each request with the next device's
-- credential, so the portal looks up a different device every time.
-- The credentials file (one per line) and the body come from run.sh through
-- the environment: BENCH_TOKENS, BENCH_BODY.
local tokens = {}
local body = os.getenv("BENCH_BODY")
for line in io.lines(os.getenv("BENCH_TOKENS")) do
	tokens[#tokens + 1] = line
end

local counter = 0
local threads = {}

function setup(thread)
	thread:set("offset", #threads * 7919)
	threads[#threads + 1] = thread
end

function init(args)
	counter = offset or 0
end

function request()
	counter = counter + 1
	local t = tokens[(counter % #tokens) + 1]
	return wrk.format("POST", nil, {
		["Authorization"] = "Bearer " .. t,
		["Content-Type"] = "application/json",
	}, body)
end
