-- XEP-0425 v0.3 message moderation (urn:xmpp:message-moderate:1), on the MUC
-- component, beside prosody-modules' mod_muc_moderation.
--
-- Debian's snapshot of mod_muc_moderation speaks only v0.2 (urn:xmpp:fasten:0
-- wrapped around urn:xmpp:message-moderate:0); Converse.js 14 and slixmpp send
-- and advertise-check v0.3 only. This module answers the v0.3 request with
-- the same rules and storage as mod_muc_moderation (which it loads, so v0.2
-- clients keep working and its hook keeps moderation notices in the archive):
--
--   <iq type="set" to="room@muc"><moderate xmlns="urn:xmpp:message-moderate:1"
--       id="STANZA-ID"><retract xmlns="urn:xmpp:message-retract:1"/><reason/>
--   </moderate></iq>
--
-- Only occupants with the moderator role (or whose affiliation would give it)
-- may moderate. The archived message is replaced by a tombstone carrying no
-- text, and every occupant gets one notice in both versions' forms.
--
-- Every moderation, through either version, is reported to the bridge for the
-- portal's audit log:
--   <message-moderated xmlns="urn:chatboard:rooms:0" room by author reason?/>
-- (`by` the moderator's real bare JID, `author` the message's nickname).

local dt = require "util.datetime";
local id = require "util.id";
local jid_util = require "util.jid";
local st = require "util.stanza";
local bridge = module:require "chatboard_bridge";

module:depends("muc_moderation");
local mod_muc = module:depends("muc");
local valid_roles = module:require("muc/util").valid_roles;

local archive = module:open_store("muc_log", "archive");
local xmlns_chatboard = "urn:chatboard:rooms:0";
local recent_messages = module:get_option_number("chatboard_moderation_lookback", 100);

local xmlns_moderate = "urn:xmpp:message-moderate:1";
local xmlns_retract = "urn:xmpp:message-retract:1";
local xmlns_fasten = "urn:xmpp:fasten:0";
local xmlns_moderate_0 = "urn:xmpp:message-moderate:0";
local xmlns_retract_0 = "urn:xmpp:message-retract:0";

module:hook("muc-disco#info", function(event)
	event.reply:tag("feature", { var = xmlns_moderate }):up();
end);

-- The actor's nickname in the room, or nil; and whether they may moderate.
local function moderator_nick(room, actor)
	local nick = room:get_occupant_jid(actor);
	if not nick then
		local reserved = room:get_affiliation_data(jid_util.bare(actor), "reserved_nickname");
		nick = reserved and room.jid .. "/" .. reserved;
	end
	local role = nick and room:get_role(nick) or room:get_default_role(room:get_affiliation(actor));
	return nick or room.jid, valid_roles[role or "none"] >= valid_roles.moderator;
end

-- What replaces the message in the archive: who sent it and when, no content.
local function tombstone(original, by, reason)
	local stamp = dt.datetime();
	local message = st.message({ from = original.attr.from, type = "groupchat", id = original.attr.id })
		:tag("retracted", { xmlns = xmlns_retract, stamp = stamp })
			:tag("moderated", { xmlns = xmlns_moderate, by = by }):up();
	if reason then message:text_tag("reason", reason); end
	message:up():tag("moderated", { xmlns = xmlns_moderate_0, by = by })
		:tag("retracted", { xmlns = xmlns_retract_0, stamp = stamp }):up();
	if reason then message:text_tag("reason", reason); end
	return message:reset();
end

-- The notice to occupants, in v0.3 form with the v0.2 form beside it.
local function notice(room, stanza_id, by, reason)
	local message = st.message({ from = room.jid, type = "groupchat", id = id.medium() })
		:tag("retract", { xmlns = xmlns_retract, id = stanza_id })
			:tag("moderated", { xmlns = xmlns_moderate, by = by }):up();
	if reason then message:text_tag("reason", reason); end
	message:up():tag("apply-to", { xmlns = xmlns_fasten, id = stanza_id })
		:tag("moderated", { xmlns = xmlns_moderate_0, by = by })
			:tag("retract", { xmlns = xmlns_retract_0 }):up();
	if reason then message:text_tag("reason", reason); end
	return message:reset();
end

-- XEP-0425 names the message by its stanza-id, but some clients send the
-- message's own id attribute (slixmpp's integration test does). That is
-- accepted when exactly one of the room's latest messages carries it; two
-- (ids are chosen by senders) are refused rather than guessed between.
local function find_by_message_id(room_node, message_id)
	local items = archive:find(room_node, { reverse = true; limit = recent_messages });
	if not items then return nil; end
	local found_key, found;
	for key, item in items do
		if item.attr.id == message_id then
			if found_key then return nil; end
			found_key, found = key, item;
		end
	end
	return found_key, found;
end

module:hook("iq-set/bare/" .. xmlns_moderate .. ":moderate", function(event)
	local stanza, origin = event.stanza, event.origin;
	local request = stanza.tags[1];
	local room = mod_muc.get_room_from_jid(stanza.attr.to);
	if not room then
		origin.send(st.error_reply(stanza, "cancel", "item-not-found", "No such room"));
		return true;
	end
	if not request:get_child("retract", xmlns_retract) or not request.attr.id then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "Expected <retract/> and an id"));
		return true;
	end
	local by, allowed = moderator_nick(room, stanza.attr.from);
	if not allowed then
		origin.send(st.error_reply(stanza, "auth", "forbidden", "You need a role of at least 'moderator'"));
		return true;
	end
	local room_node, stanza_id = jid_util.node(room.jid), request.attr.id;
	local original, err = archive:get(room_node, stanza_id);
	if not original and err == "item-not-found" then
		local key, found = find_by_message_id(room_node, stanza_id);
		if key then stanza_id, original = key, found; end
	end
	if not original then
		local condition = err == "item-not-found" and "item-not-found" or "internal-server-error";
		origin.send(st.error_reply(stanza, "cancel", condition));
		return true;
	end
	local reason = request:get_child_text("reason");
	if not archive:set(room_node, stanza_id, tombstone(original, by, reason)) then
		origin.send(st.error_reply(stanza, "wait", "internal-server-error"));
		return true;
	end
	module:log("info", "Message %s in %s moderated by %s", stanza_id, room.jid, stanza.attr.from);
	room:broadcast_message(notice(room, stanza_id, by, reason));
	origin.send(st.reply(stanza));
	return true;
end);

-- Both versions' notices carry <apply-to><moderated by/></apply-to>: report
-- each once, whichever module made it. The archive still knows the author's
-- nickname (the tombstone keeps the original sender).
module:hook("muc-broadcast-message", function(event)
	local room, stanza = event.room, event.stanza;
	if stanza.attr.from ~= room.jid then return; end
	local applied = stanza:get_child("apply-to", xmlns_fasten);
	local moderated = applied and applied:get_child("moderated", xmlns_moderate_0);
	if not moderated then return; end
	local moderator = room:get_occupant_by_nick(moderated.attr.by);
	local original = archive:get(jid_util.node(room.jid), applied.attr.id);
	local report = st.stanza("message-moderated", {
		xmlns = xmlns_chatboard; room = room.jid;
		by = moderator and moderator.bare_jid or moderated.attr.by;
		author = original and jid_util.resource(original.attr.from) or "";
	});
	local reason = moderated:get_child_text("reason");
	if reason then report:text_tag("reason", reason); end
	bridge.report(report);
end, 2);
