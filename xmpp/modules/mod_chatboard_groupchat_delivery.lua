-- Room messages handed straight to the occupant's session, on the VirtualHost.
--
-- A room sends each message once per occupant, to the occupant's full JID. In
-- Prosody 0.12 every copy then goes through the host's message/full handlers:
-- mod_mam (priority 0) clones the stanza because it carries the room's
-- <stanza-id>, then decides not to archive it (rooms keep their own archive);
-- mod_carbons (-0.5) decides not to copy it (groupchat is never carbon-copied);
-- both build a debug line with stanza:top_tag() even when debug logging is off;
-- then mod_message (-1) calls session.send. Profiled at 50-200 occupants that is
-- about half of the CPU per delivery, for no effect.
--
-- This handler runs before them (priority 1; mod_blocklist's 100 still runs
-- first and may drop the message) and calls session.send itself when none of
-- them would change anything: a groupchat message, to a session that is online,
-- whose <stanza-id> elements (if any) are all by the sending room. A stanza-id
-- by anyone else may claim to be from the recipient's own archive; mod_mam must
-- strip that, so such a message takes the usual path, as does every other one.

local full_sessions = prosody.full_sessions;
local jid_bare = require "util.jid".bare;

local xmlns_st_id = "urn:xmpp:sid:0";

local function only_room_stanza_ids(stanza)
	local room;
	for _, tag in ipairs(stanza.tags) do
		if tag.name == "stanza-id" and tag.attr.xmlns == xmlns_st_id then
			room = room or jid_bare(stanza.attr.from);
			if tag.attr.by ~= room then
				return false;
			end
		end
	end
	return true;
end

module:hook("message/full", function(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "groupchat" then return; end
	local session = full_sessions[stanza.attr.to];
	if not session or not only_room_stanza_ids(stanza) then return; end
	-- As mod_message: a session that cannot take it (e.g. closing) falls through.
	if session.send(stanza) then
		return true;
	end
end, 1);
