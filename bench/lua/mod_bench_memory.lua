-- Prosody's Lua heap, for benchmarks (loaded only by the bench).
--
-- On SIGUSR2 (through mod_posix) it logs the heap as collectgarbage("count")
-- sees it, then again after a full collection: garbage the collector has not
-- reached yet against live data. Next to the process's RSS, the rest is memory
-- outside Lua (OpenSSL's buffers, the XML parser, malloc's free lists).
-- With `bench_memory_interval` (seconds) it also logs the heap that often.

local interval = module:get_option_number("bench_memory_interval", 0);

local function kb(count) return math.floor(count); end

module:hook_global("signal/SIGUSR2", function()
	local before = collectgarbage("count");
	collectgarbage("collect");
	module:log("info", "lua heap before full collection %d kB, live %d kB",
		kb(before), kb(collectgarbage("count")));
end);

if interval > 0 then
	module:add_timer(0, function()
		module:log("info", "lua heap %d kB", kb(collectgarbage("count")));
		return interval;
	end);
end
