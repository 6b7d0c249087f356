-- Rooms for the ChatBoard bridge, loaded on the MUC component.
--
-- The portal owns rooms; the bridge makes Prosody match it through IQs in
-- urn:chatboard:rooms:0, accepted only from `chatboard_bridge_jid`:
--
--   set <room jid name? description? password? public members-only persistent
--            archiving whois><affiliation jid affiliation/>...</room>
--       create the room if missing (over a tombstone too), set its whole
--       configuration, and set the affiliations of users of the parent host to
--       exactly the listed ones (other hosts' JIDs are left alone).
--   set <destroy jid><reason/></destroy>   destroy the room, telling occupants.
--   get <list/>     every room (tombstones marked destroyed="true") with its
--                   configuration, affiliations and occupant count.
--
-- Changes made from XMPP clients go the other way, as messages to the bridge
-- (events.lib.lua); changes the bridge itself makes are not echoed back, so no
-- loop can form. Members of the parent host get an autojoin bookmark for the
-- room whoever granted the affiliation (bookmarks.lib.lua).
--
-- Split as mod_muc is: this file wires hooks and requests to the libraries
-- beside it (state.lib.lua applies and describes room state).

local st = require "util.stanza";
local jid_util = require "util.jid";
local bridge = module:require "chatboard_bridge";
local state = module:require "chatboard_rooms/state";
local bookmarks = module:require "chatboard_rooms/bookmarks";
local events = module:require "chatboard_rooms/events";

local xmlns = "urn:chatboard:rooms:0";

-- True while the bridge's own request is being applied: its changes are not events.
local applying = false;

---------- Requests from the bridge ----------

local function apply(operation)
	return function(stanza)
		applying = true;
		local ok, changed, err = pcall(operation, stanza.tags[1]);
		applying = false;
		if not ok then
			module:log("error", "Room operation failed: %s", tostring(changed));
			return st.error_reply(stanza, "wait", "internal-server-error", tostring(changed));
		end
		return bridge.done(stanza, changed, err);
	end;
end

bridge.hook_request("set", xmlns, "room", apply(state.set_room));
bridge.hook_request("set", xmlns, "destroy", apply(state.destroy_room));

bridge.hook_request("get", xmlns, "list", function(stanza)
	local reply = st.reply(stanza):tag("list", { xmlns = xmlns });
	for _, room in ipairs(state.all_rooms()) do
		reply:add_child(state.describe(room, "room"));
	end
	return reply;
end);

---------- Changes, whoever made them ----------

module:hook("muc-room-created", function(event)
	if applying then return; end
	events.room_changed(event.room, event.creator and jid_util.bare(event.creator.bare_jid));
end);

module:hook("muc-config-submitted", function(event)
	if applying then return; end
	events.room_changed(event.room);
end);

module:hook("muc-set-affiliation", function(event)
	bookmarks.affiliation_changed(event);
	if applying then return; end
	events.affiliation_changed(event);
end);

module:hook("muc-room-destroyed", function(event)
	local room = event.room;
	if room._data.destroyed then return; end -- a tombstone going away
	bookmarks.remove_all(room);
	events.room_destroyed(room, not applying);
end, 10);

module:hook("muc-occupant-joined", events.occupant_joined);
module:hook("muc-occupant-left", events.occupant_left);
module:hook("muc-broadcast-presence", events.presence_broadcast);
