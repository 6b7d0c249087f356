-- Events for the bridge, for mod_chatboard_rooms: what XMPP clients did to
-- rooms, so the portal learns of it.
--
--   <room event="changed" creator?>...state...</room>   created, configured or
--       affiliations changed (each affiliation change made by a person also as
--       <affiliation-changed jid affiliation previous actor> with its <reason/>,
--       for the audit log);
--   <destroyed jid/>                                    destroyed, or a
--       temporary room dropped when its last occupant left;
--   <occupants><room jid count/>...</occupants>         who is in the rooms
--       that changed (nickname, real bare JID, role), at most once per interval.
--
-- Kept apart because each report waits: changes are coalesced per room and sent
-- on a timer. Which room changes are the bridge's own, and so not reported, is
-- for the module to say: it calls these only for the others.

local st = require "util.stanza";
local jid_util = require "util.jid";
local bridge = module:require "chatboard_bridge";
local state = module:require "chatboard_rooms/state";
local bookmarks = module:require "chatboard_rooms/bookmarks";

local xmlns = "urn:chatboard:rooms:0";
local occupants_interval = module:get_option_number("chatboard_occupants_interval", 1);

local mod_muc = module:depends("muc");

local events = {};

-- Rooms changed by clients, flushed on the next tick: a submitted config form
-- fires its event before the fields are applied.
local changed_rooms = {};
local flush_scheduled = false;

local function flush_changed()
	flush_scheduled = false;
	local pending = changed_rooms;
	changed_rooms = {};
	for room_jid, info in pairs(pending) do
		local room = mod_muc.get_room_from_jid(room_jid);
		if room and not room._data.destroyed then
			if room:get_persistent() then room:save(true); end -- also rooms made from defaults
			bookmarks.refresh(room); -- the name may have changed
			local report = state.describe(room, "room", { event = "changed", creator = info.creator });
			for _, change in ipairs(info.changes or {}) do
				report:tag("affiliation-changed", { jid = change.jid, affiliation = change.affiliation,
					previous = change.previous, actor = change.actor });
				if change.reason then report:text_tag("reason", change.reason); end
				report:up();
			end
			bridge.report(report);
		end
	end
end

-- Created (`creator`: the client's bare JID) or configured.
function events.room_changed(room, creator)
	local info = changed_rooms[room.jid] or {};
	info.creator = info.creator or creator;
	changed_rooms[room.jid] = info;
	if not flush_scheduled then
		flush_scheduled = true;
		module:add_timer(0, flush_changed);
	end
	return info;
end

-- A muc-set-affiliation event.
function events.affiliation_changed(event)
	local info = events.room_changed(event.room);
	-- Who did it and why, for the portal's audit log (the state says what is now).
	if type(event.actor) == "string" then
		info.changes = info.changes or {};
		table.insert(info.changes, { jid = event.jid, affiliation = event.affiliation,
			previous = event.previous_affiliation, actor = jid_util.bare(event.actor), reason = event.reason });
	end
end

-- A room that is gone has nothing left to report but that.
function events.room_destroyed(room, report)
	changed_rooms[room.jid] = nil;
	if report then
		bridge.report(st.stanza("destroyed", { xmlns = xmlns, jid = room.jid }));
	end
end

-- Occupant counts, sent at most once per interval for the rooms that changed.
local counted_rooms = {};
local count_scheduled = false;

local function flush_counts()
	count_scheduled = false;
	local rooms = counted_rooms;
	counted_rooms = {};
	local payload = st.stanza("occupants", { xmlns = xmlns });
	for room_jid, room in pairs(rooms) do
		payload:tag("room", { jid = room_jid, count = tostring(state.count_occupants(room)) });
		state.add_occupants(payload, room);
		payload:up();
	end
	bridge.report(payload);
end

local function occupants_changed(room)
	counted_rooms[room.jid] = room;
	if not count_scheduled then
		count_scheduled = true;
		module:add_timer(occupants_interval, flush_counts);
	end
end

-- Role changes (voice, moderator) are announced by presence only; other
-- presence updates (status, away) are not worth a report.
local reported_roles = {}; -- occupant's room nick JID -> role last seen

function events.occupant_joined(event)
	occupants_changed(event.room);
end

function events.occupant_left(event)
	reported_roles[event.nick] = nil;
	occupants_changed(event.room);
end

-- A muc-broadcast-presence event.
function events.presence_broadcast(event)
	local occupant = event.occupant;
	if not occupant or reported_roles[occupant.nick] == occupant.role then return; end
	local known = reported_roles[occupant.nick] ~= nil;
	reported_roles[occupant.nick] = occupant.role;
	if known then occupants_changed(event.room); end -- a join is reported by muc-occupant-joined
end

return events;
