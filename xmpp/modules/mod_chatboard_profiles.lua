-- Profile changes made from XMPP clients, reported to the ChatBoard bridge.
--
-- The portal owns profiles (name, about, avatar). When a person changes their
-- avatar, vCard or nickname from a client (Gajim, Conversations...), this
-- module tells the bridge, which reads the new values through mod_privilege
-- and stores them in the portal. It watches the PEP nodes behind those
-- values (`chatboard_profile_nodes`); mod_vcard_legacy turns a vcard-temp
-- set into publishes on the same nodes, so vCard edits are seen too.
--
-- Only changes made by a client session are reported: a client's actor is
-- its full JID, while the bridge publishes through mod_privilege with the
-- bare JID as actor. That is what keeps the bridge's own writes from coming
-- back to it as notifications.
--
--   <message from="<host>" to="<chatboard_bridge_jid>" type="normal">
--     <profile-changed xmlns="urn:chatboard:profiles:0" username="alice"
--                      node="urn:xmpp:avatar:metadata"/>
--   </message>

local st = require "util.stanza";
local jid_split = require "util.jid".split;
local bridge = module:require "chatboard_bridge";

module:depends("pep");

local xmlns = "urn:chatboard:profiles:0";
local host = module.host;

local watched_nodes = module:get_option_set("chatboard_profile_nodes", {
	"urn:xmpp:avatar:metadata";
	"urn:xmpp:vcard4";
	"http://jabber.org/protocol/nick";
});

local pubsub_events = { "item-published", "item-retracted", "node-purged", "node-deleted" };

local function made_by_client(actor)
	if type(actor) ~= "string" then
		return false; -- `true` is Prosody itself (e.g. a legacy vCard migration)
	end
	local _, _, resource = jid_split(actor);
	return resource ~= nil;
end

local function on_pubsub_event(event)
	if not watched_nodes:contains(event.node) or not made_by_client(event.actor) then
		return;
	end
	local username = event.service.config.pep_username;
	if not username then
		return;
	end
	module:log("debug", "Profile of %s@%s changed by a client (%s)", username, host, event.node);
	bridge.report(st.stanza("profile-changed", { xmlns = xmlns, username = username, node = event.node }));
end

local function watch(event)
	local events = event.item.service.events;
	for _, name in ipairs(pubsub_events) do
		events.add_handler(name, on_pubsub_event);
	end
end

local function unwatch(event)
	local events = event.item.service.events;
	for _, name in ipairs(pubsub_events) do
		events.remove_handler(name, on_pubsub_event);
	end
end

-- mod_pep announces each user's pubsub service as a "pep-service" item when
-- it loads it (and removes it when evicted from its cache).
module:handle_items("pep-service", watch, unwatch, true);

function module.unload()
	for _, item in ipairs(module:get_host_items("pep-service")) do
		unwatch({ item = item });
	end
end
