-- What every ChatBoard module shares about the bridge, loaded with
-- `module:require "chatboard_bridge"` (it runs in the loading module's
-- environment, so `module` and the options are that module's).
--
-- The bridge is a component: Prosody checked its secret and stamps its address
-- on what it sends, so a request whose sender is `chatboard_bridge_jid` comes
-- from the bridge and from nobody else. Requests are refused to everyone else
-- here, in one place, so no module can forget to.

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;

local bridge = {};

bridge.jid = jid_prep(module:get_option_string("chatboard_bridge_jid"));
assert(bridge.jid, "chatboard_bridge_jid must be set to the bridge component's address");

-- Serves the bridge's IQs of `kind` ("get" or "set") whose payload is `name` in
-- `xmlns`, addressed to the host. `handler(stanza)` returns the reply to send;
-- any other sender gets `forbidden` and the handler never runs.
function bridge.hook_request(kind, xmlns, name, handler)
	module:hook("iq-" .. kind .. "/host/" .. xmlns .. ":" .. name, function(event)
		local stanza = event.stanza;
		if stanza.attr.from ~= bridge.jid then
			event.origin.send(st.error_reply(stanza, "auth", "forbidden"));
		else
			event.origin.send(handler(stanza));
		end
		return true;
	end);
end

-- The reply to a request that changes something: <done changed="true|false"/>
-- in the request's namespace, or, when `changed` is nil, bad-request with the
-- reason. Requests are idempotent: `changed` tells the bridge whether this one
-- did anything.
function bridge.done(stanza, changed, reason)
	if changed == nil then
		return st.error_reply(stanza, "modify", "bad-request", reason);
	end
	return st.reply(stanza):tag("done", {
		xmlns = stanza.tags[1].attr.xmlns, changed = changed and "true" or "false",
	});
end

-- Tells the bridge something happened (a `payload` element in the module's
-- namespace), from the host the module is loaded on. The bridge accepts these
-- only from that address.
function bridge.report(payload)
	module:send(st.message({ from = module.host, to = bridge.jid, type = "normal" }):add_child(payload));
end

return bridge;
