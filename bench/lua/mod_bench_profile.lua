-- A sampling profiler for benchmarks (loaded only by `python -m bench --lua-profile`).
--
-- A count hook fires every `bench_profile_instructions` Lua VM instructions and
-- charges the process CPU time since the previous sample (os.clock) to the
-- function running then ("self") and, once each, to every function on its stack
-- ("inclusive"). Time spent in C (the garbage collector, string building,
-- OpenSSL writes) is thus charged to the Lua function that called into it.
--
-- Hooks belong to a coroutine; a new coroutine inherits its creator's hook, so
-- the hook is set on the main thread at startup, before any session exists.
--
-- Control: an IQ set to the host,
--   <profile xmlns='urn:chatboard:bench:profile' action='reset'/>
--   <profile xmlns='urn:chatboard:bench:profile' action='dump' path='/tmp/x.tsv'/>
-- A dump writes one line per function: kind, seconds, samples, function.

local st = require "util.stanza";

local every = module:get_option_number("bench_profile_instructions", 1000);
local max_depth = 40;

local clock = os.clock;
local getinfo = debug.getinfo;

local self_time, self_samples, incl_time = {}, {}, {};
local last = clock();
local started = last;
local keys = setmetatable({}, { __mode = "k" }); -- function -> "source:line name"

local function key_of(info, level)
	local func = info.func;
	local key = keys[func];
	if key then return key; end
	local named = getinfo(level, "n");
	key = ("%s:%d %s"):format(info.short_src, info.linedefined, named and named.name or "?");
	keys[func] = key;
	return key;
end

local function sample()
	local now = clock();
	local spent = now - last;
	last = now;
	local info = getinfo(2, "Sf");
	if not info then return; end
	local key = key_of(info, 3);
	self_time[key] = (self_time[key] or 0) + spent;
	self_samples[key] = (self_samples[key] or 0) + 1;
	local seen = {};
	for level = 2, max_depth do
		info = getinfo(level, "Sf");
		if not info then break; end
		local k = keys[info.func] or key_of(info, level + 1);
		if not seen[k] then
			seen[k] = true;
			incl_time[k] = (incl_time[k] or 0) + spent;
		end
	end
end

local hooked = false;
local function install()
	if hooked then return; end
	local _, is_main = coroutine.running();
	if not is_main then return; end -- a hook set here would cover this coroutine only
	debug.sethook(sample, "", every);
	hooked = true;
	module:log("info", "profiling every %d instructions", every);
end

local function reset()
	self_time, self_samples, incl_time = {}, {}, {};
	last = clock();
	started = last;
end

local function dump(path)
	local file = assert(io.open(path, "w"));
	file:write(("total\t%.6f\t0\t-\n"):format(clock() - started));
	for key, seconds in pairs(self_time) do
		file:write(("self\t%.6f\t%d\t%s\n"):format(seconds, self_samples[key], key));
	end
	for key, seconds in pairs(incl_time) do
		file:write(("inclusive\t%.6f\t0\t%s\n"):format(seconds, key));
	end
	file:close();
end

install();
-- Some hosts load before the main loop runs; a timer callback runs on the main thread.
module:add_timer(0, install);

module:hook("iq-set/host/urn:chatboard:bench:profile:profile", function(event)
	local profile = event.stanza.tags[1];
	local action = profile.attr.action;
	if action == "reset" then
		reset();
	elseif action == "dump" and profile.attr.path then
		dump(profile.attr.path);
	else
		event.origin.send(st.error_reply(event.stanza, "modify", "bad-request"));
		return true;
	end
	-- With a child, so the reply ends in </iq> (the load tool reads up to that).
	event.origin.send(st.reply(event.stanza):tag("profile", { xmlns = profile.attr.xmlns, action = action }));
	return true;
end);
