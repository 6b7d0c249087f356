-- Occupant roles for the ChatBoard bridge, loaded on the MUC component: how
-- kicks, voice and the moderator role decided in the portal reach a room.
--
--   set <role xmlns="urn:chatboard:rooms:0" room="ROOM" jid="BARE-JID"
--             role="none|visitor|participant|moderator"><reason/>?</role>
--
-- gives every occupant whose real bare JID is BARE-JID the role (none: kicked,
-- XEP-0045 status 307 with the reason), in every session and under every
-- nickname they use. Accepted only from `chatboard_bridge_jid`. Answers
-- <done changed="true|false"/>; a room that does not exist or a person not in
-- it is no change, so the request is safe to repeat.
--
-- The bridge acts with the service's own authority, as for its other room
-- requests: the portal has already checked that the person who asked may do
-- it, and the bridge is not an occupant or an affiliate of any room.

local jid_util = require "util.jid";
local bridge = module:require "chatboard_bridge";

local xmlns = "urn:chatboard:rooms:0";

local mod_muc = module:depends("muc");

local roles = { none = true, visitor = true, participant = true, moderator = true };

local function set_role(tag)
	local room_jid, target = jid_util.prep(tag.attr.room), jid_util.prep(tag.attr.jid);
	local role = tag.attr.role;
	if not room_jid or not target or jid_util.bare(target) ~= target or not roles[role] then
		return nil, "expected room, a bare jid and a role";
	end
	local room = mod_muc.get_room_from_jid(room_jid);
	if not room or room._data.destroyed then return false; end
	-- Collected first: a kick removes occupants from the table being walked.
	local nicks = {};
	for nick, occupant in room:each_occupant() do
		if occupant.bare_jid == target and (occupant.role or "none") ~= role then
			nicks[#nicks + 1] = nick;
		end
	end
	local reason = tag:get_child_text("reason");
	for _, nick in ipairs(nicks) do
		local ok, _, condition = room:set_role(true, nick, role, reason);
		if not ok then return nil, "could not set the role of " .. nick .. ": " .. tostring(condition); end
	end
	if #nicks > 0 then
		module:log("info", "Role of %s in %s set to %s by the bridge", target, room_jid, role);
	end
	return #nicks > 0;
end

bridge.hook_request("set", xmlns, "role", function(stanza)
	return bridge.done(stanza, set_role(stanza.tags[1]));
end);
