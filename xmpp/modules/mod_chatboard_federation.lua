-- Federation limited to an allowlist of remote domains.
--
-- A remote host is allowed when it is a listed domain or one of its subdomains
-- (listing b.example admits conference.b.example too). Every other server is
-- refused both ways, on every local host (the domain and its components):
--
-- * outgoing: a stanza routed to it bounces back to the sender with
--   not-allowed (as when federation is off) and a text naming the domain; no
--   connection is opened;
-- * incoming: its stream is closed with policy-violation as soon as it says
--   who it is (in its stream header, or else by SASL EXTERNAL or dialback),
--   before it can deliver anything.
--
-- mod_host_guard from prosody-modules does the same with exact host names,
-- but does not load on Prosody 0.12.

module:set_global();

local st = require "util.stanza";

local allowlist = module:get_option_set("chatboard_federation_allowlist", {});
assert(not allowlist:empty(), "chatboard_federation_allowlist must name at least one domain");

local function allowed(remote)
	if not remote then return false; end
	for domain in allowlist do
		if remote == domain or remote:sub(-#domain - 1) == "." .. domain then
			return true;
		end
	end
	return false;
end

local function refuse_outgoing(event)
	if allowed(event.to_host) then return; end
	local stanza = event.stanza;
	module:log("info", "not federating with %s: %s from %s refused", event.to_host, stanza.name, event.from_host);
	if stanza.attr.type ~= "error" and stanza.attr.type ~= "result" then
		local text = "This server does not federate with " .. event.to_host;
		module:context(event.from_host):send(st.error_reply(stanza, "cancel", "not-allowed", text));
	end
	return true;
end

local function close_incoming(session, remote)
	module:log("info", "not federating with %s: incoming stream closed", remote);
	session:close({ condition = "policy-violation"; text = "This server does not federate with " .. remote });
end

-- A stream that names its server in its header is closed before TLS: the
-- remote server then reports our reason to its user intact.
local function refuse_named_stream(event)
	local session = event.origin;
	if session.direction == "incoming" and session.from_host and not allowed(session.from_host) then
		close_incoming(session, session.from_host);
		return true;
	end
end

-- Any other stream is closed once it has proved who it is.
local function refuse_authenticated(event)
	local session, remote = event.session, event.host;
	if session.direction ~= "incoming" or allowed(remote) then return; end
	close_incoming(session, tostring(remote));
	return true;
end

local function guard(host)
	local context = module:context(host);
	context:hook("route/remote", refuse_outgoing, 100);
	context:hook("s2s-stream-features", refuse_named_stream, 1000);
	context:hook("s2s-authenticated", refuse_authenticated, 100);
end

module:hook("host-activated", guard);
for host in pairs(prosody.hosts) do
	guard(host);
end
