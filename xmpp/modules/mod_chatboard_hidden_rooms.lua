-- Private rooms stay invisible to outsiders, loaded on the MUC component.
--
-- The portal's private rooms are hidden (not in disco#items) and members-only,
-- yet mod_muc still answers anyone's disco#info on the room's own address
-- with its name, description and occupant count, and vcard_muc its avatar.
-- Here, a room that is both hidden and members-only answers those queries from
-- a non-member (no affiliation, or outcast) exactly as a room that does not
-- exist would: item-not-found.

local st = require "util.stanza";
local jid_bare = require "util.jid".bare;

local mod_muc = module:depends("muc");

local member_affiliations = { owner = true, admin = true, member = true };

local function hidden_from(room, from)
	if room:get_public() or not room:get_members_only() then
		return false;
	end
	return not member_affiliations[room:get_affiliation(jid_bare(from)) or "none"];
end

local function answer_as_missing(event)
	local stanza = event.stanza;
	local room = mod_muc.get_room_from_jid(jid_bare(stanza.attr.to));
	if room and not room._data.destroyed and hidden_from(room, stanza.attr.from) then
		event.origin.send(st.error_reply(stanza, "cancel", "item-not-found"));
		return true;
	end
end

for _, payload in ipairs({
	"http://jabber.org/protocol/disco#info:query";
	"http://jabber.org/protocol/disco#items:query";
	"vcard-temp:vCard";
}) do
	module:hook("iq-get/bare/" .. payload, answer_as_missing, 10);
end
