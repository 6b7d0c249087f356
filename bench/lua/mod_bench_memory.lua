-- Prosody's Lua heap, for benchmarks (loaded only by the bench).
--
-- On SIGUSR2 (through mod_posix) it logs the heap as collectgarbage("count")
-- sees it, then again after a full collection: garbage the collector has not
-- reached yet against live data. Next to the process's RSS, the rest is memory
-- outside Lua (OpenSSL's buffers, the XML parser, malloc's free lists).
-- With `bench_memory_interval` (seconds) it also logs the heap that often.

local interval = module:get_option_number("bench_memory_interval", 0);

local function kb(count) return math.floor(count); end

-- Output queued for clients that have not read it yet: what a connection's
-- write buffer holds (server_epoll keeps a string, or in 0.12 a list of
-- strings, in 13 a util.dbuffer whose length is its bytes).
local function queued_output()
	local bytes, sessions = 0, 0;
	for _, session in pairs(prosody.full_sessions) do
		local buffer = session.conn and session.conn.writebuffer;
		if type(buffer) == "string" then
			bytes, sessions = bytes + #buffer, sessions + 1;
		elseif type(buffer) == "table" and buffer.items then
			if #buffer > 0 then bytes, sessions = bytes + #buffer, sessions + 1; end
		elseif type(buffer) == "table" and buffer[1] then
			for _, chunk in ipairs(buffer) do bytes = bytes + #chunk; end
			sessions = sessions + 1;
		end
	end
	return bytes, sessions;
end

module:hook_global("signal/SIGUSR2", function()
	local before = collectgarbage("count");
	collectgarbage("collect");
	local queued, sessions = queued_output();
	module:log("info", "lua heap before full collection %d kB, live %d kB, queued output %d kB in %d sessions",
		kb(before), kb(collectgarbage("count")), kb(queued / 1024), sessions);
end);

if interval > 0 then
	module:add_timer(0, function()
		module:log("info", "lua heap %d kB", kb(collectgarbage("count")));
		return interval;
	end);
end
