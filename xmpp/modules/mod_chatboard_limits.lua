-- Limits on client connections, loaded on each VirtualHost.
--
-- Connection throttling: each IP address may open `chatboard_connection_burst`
-- client connections at once, refilled evenly over `chatboard_connection_period`
-- seconds; past that, a new connection is closed with policy-violation before
-- it can try a password. Web chat connections (websocket) arrive through the
-- proxy, all from its address, so they are left to the portal's session and
-- the proxy. 0 turns throttling off.
--
-- Liveness: a logged-in client that sends nothing for `chatboard_idle_timeout`
-- seconds is pinged (XEP-0199); with nothing from it for as long again, its
-- connection is closed, so a client whose network vanished (half-open TCP)
-- leaves its rooms: within 3 x chatboard_idle_timeout, plus
-- smacks_hibernation_time for a stream-management session (kept resumable).

local st = require "util.stanza";
local cache = require "util.cache";
local throttle = require "util.throttle";
local filters = require "util.filters";
local now = require "util.time".now;
local new_id = require "util.id".short;

local burst = module:get_option_number("chatboard_connection_burst", 20);
local period = module:get_option_number("chatboard_connection_period", 60);
local idle_timeout = module:get_option_number("chatboard_idle_timeout", 60);

-- The least recently seen addresses are forgotten first.
local buckets = cache.new(10000);

local function allowed(ip)
	local bucket = buckets:get(ip);
	if not bucket then
		bucket = throttle.create(burst, period);
		buckets:set(ip, bucket);
	end
	return bucket:poll(1);
end

module:hook("stream-features", function(event)
	local session = event.origin;
	-- stream-features fires again after STARTTLS: count each connection once.
	if burst <= 0 or session.type ~= "c2s_unauthed" or session.websocket_request
		or session.chatboard_counted or not session.ip then
		return;
	end
	session.chatboard_counted = true;
	if not allowed(session.ip) then
		module:log("warn", "Too many connections from %s, closing one", session.ip);
		session:close({ condition = "policy-violation", text = "Too many connections, try again later" });
		return true;
	end
end, 100);

-- Liveness, checked by a timer of our own: Prosody's read timeout is not
-- re-armed after mod_limits pauses a connection, so it cannot be relied on.
local function mark_read(data, session)
	-- After a stream-management resumption the new connection's filters still
	-- carry the session that resumed, not the one that lives on.
	(session.chatboard_resumed_as or session).chatboard_last_read = now();
	return data;
end

local function watch_reads(session)
	if session.type == "c2s_unauthed" then
		session.chatboard_last_read = now();
		filters.add_filter(session, "bytes/in", mark_read, 1000);
	end
end

filters.add_filter_hook(watch_reads);

function module.unload()
	filters.remove_filter_hook(watch_reads);
end

module:hook("smacks-hibernation-end", function(event)
	event.origin.chatboard_resumed_as = event.resumed;
	event.resumed.chatboard_last_read, event.resumed.chatboard_pinged_at = now(), nil;
end);

local function check(session, t)
	local last_read = session.chatboard_last_read;
	if not last_read or session.hibernating or not session.conn then
		return;
	end
	local pinged_at = session.chatboard_pinged_at;
	if pinged_at and last_read >= pinged_at then
		session.chatboard_pinged_at, pinged_at = nil, nil; -- it answered
	end
	if pinged_at and t - pinged_at >= idle_timeout then
		session.log("info", "No sign of life for %d s, closing the connection", t - last_read);
		if session.smacks then
			session.conn:close(); -- mod_smacks keeps it resumable while it hibernates
		else
			session:close({ condition = "connection-timeout", text = "No answer to ping" });
		end
	elseif not pinged_at and t - last_read >= idle_timeout then
		session.chatboard_pinged_at = t;
		session.send(st.iq({ type = "get", from = module.host, to = session.full_jid, id = new_id() })
			:tag("ping", { xmlns = "urn:xmpp:ping" }));
	end
end

if idle_timeout > 0 then
	module:add_timer(idle_timeout / 2, function()
		local t = now();
		for _, user in pairs(prosody.hosts[module.host].sessions) do
			for _, session in pairs(user.sessions) do
				check(session, t);
			end
		end
		return idle_timeout / 2;
	end);
end
