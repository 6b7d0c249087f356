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
-- Changes made from XMPP clients go the other way, as messages to the bridge:
--   <room event="changed" creator?>...state...</room>   created, configured
--       or affiliations changed by a client (each affiliation change made by
--       a person also as <affiliation-changed jid affiliation previous actor>
--       with its <reason/>, for the audit log);
--   <destroyed jid/>                                    destroyed by a client
--       or, for a temporary room, dropped when its last occupant left;
--   <occupants><room jid count/>...</occupants>         who is in the room
--       (nickname, real bare JID, role), at most once per interval.
-- Changes the bridge itself makes are not echoed back, so no loop can form.
--
-- Members (member, admin, owner) of the parent host get an autojoin bookmark
-- (XEP-0402, which mod_bookmarks mirrors for XEP-0048 clients) when they gain
-- the affiliation, whoever granted it; it is retracted when they lose it or
-- the room is destroyed.

local st = require "util.stanza";
local jid_util = require "util.jid";
local modulemanager = require "core.modulemanager";
local usermanager = require "core.usermanager";

local xmlns = "urn:chatboard:rooms:0";
local xmlns_bookmarks = "urn:xmpp:bookmarks:1";
local xmlns_pubsub = "http://jabber.org/protocol/pubsub";

local bridge_jid = jid_util.prep(module:get_option_string("chatboard_bridge_jid"));
assert(bridge_jid, "chatboard_bridge_jid must be set to the bridge component's address");
local user_host = module:get_option_string("chatboard_user_host", (module.host:gsub("^[^%.]+%.", "")));
local tombstone_ttl = module:get_option_number("muc_tombstone_expiry", 86400 * 31);
local occupants_interval = module:get_option_number("chatboard_occupants_interval", 1);

local mod_muc = module:depends("muc");

local bookmark_options = {
	persist_items = true; max_items = "max";
	send_last_published_item = "never"; access_model = "whitelist";
};

-- True while the bridge's own request is being applied: its changes are not events.
local applying = false;

local function is_true(value)
	return value == "true" or value == "1";
end

local function is_member(affiliation)
	return affiliation == "owner" or affiliation == "admin" or affiliation == "member";
end

local function local_user(jid)
	local node, host = jid_util.split(jid);
	if host ~= user_host or not node then return nil; end
	if not usermanager.user_exists(node, user_host) then return nil; end
	return node;
end

---------- Bookmarks ----------

local function pep_service(username)
	local mod_pep = modulemanager.get_module(user_host, "pep");
	return mod_pep and mod_pep.get_pep_service(username);
end

local function bookmark_item(room)
	return st.stanza("item", { xmlns = xmlns_pubsub, id = room.jid })
		:tag("conference", { xmlns = xmlns_bookmarks, autojoin = "true", name = room:get_name() or nil })
		:up();
end

local function has_bookmark(service, room)
	local ok, items = service:get_items(xmlns_bookmarks, true, room.jid);
	if not ok or not items[room.jid] then return false; end
	local conference = items[room.jid]:get_child("conference", xmlns_bookmarks);
	return conference and conference.attr.autojoin == "true"
		and conference.attr.name == room:get_name();
end

local function add_bookmark(username, room, only_if_missing)
	local service = pep_service(username);
	if not service then return; end
	if only_if_missing and has_bookmark(service, room) then return; end
	local ok, err = service:publish(xmlns_bookmarks, true, room.jid, bookmark_item(room), bookmark_options);
	if not ok then
		module:log("warn", "Could not bookmark %s for %s: %s", room.jid, username, tostring(err));
	end
end

local function remove_bookmark(username, room_jid)
	local service = pep_service(username);
	if not service then return; end
	local ok, items = service:get_items(xmlns_bookmarks, true, room_jid);
	if ok and items[room_jid] then
		service:retract(xmlns_bookmarks, true, room_jid, st.stanza("retract", { id = room_jid }));
	end
end

module:hook("muc-set-affiliation", function(event)
	local username = local_user(event.jid);
	if not username then return; end
	local was, is = is_member(event.previous_affiliation), is_member(event.affiliation);
	if is and not was then
		add_bookmark(username, event.room);
	elseif was and not is then
		remove_bookmark(username, event.room.jid);
	end
end);

---------- Room state ----------

local function count_occupants(room)
	local count = 0;
	for _ in room:each_occupant() do count = count + 1; end
	return count;
end

-- Who is in the room now: nickname, real bare JID and role. The bridge needs the
-- real JID to link local people to their profiles; the portal shows it only to
-- those the room lets see real JIDs, and the role to its moderators.
local function add_occupants(parent, room)
	for _, occupant in room:each_occupant() do
		local nick = jid_util.resource(occupant.nick);
		parent:tag("occupant", { nick = nick, jid = occupant.bare_jid, role = occupant.role }):up();
	end
end

local function room_state(room, tag_name, attr)
	attr = attr or {};
	attr.xmlns, attr.jid = xmlns, room.jid;
	if room._data.destroyed then
		attr.destroyed = "true";
		attr["destroyed-at"] = tostring((room._data.locked or os.time()) - tombstone_ttl);
		return st.stanza(tag_name, attr);
	end
	attr.public = tostring(room:get_public());
	attr["members-only"] = tostring(room:get_members_only());
	attr.persistent = tostring(room:get_persistent());
	attr.archiving = tostring(room._data.archiving ~= false);
	attr.whois = room:get_whois();
	attr.occupants = tostring(count_occupants(room));
	local state = st.stanza(tag_name, attr);
	add_occupants(state, room);
	if room:get_name() then state:text_tag("name", room:get_name()); end
	if room:get_description() then state:text_tag("description", room:get_description()); end
	if room:get_password() then state:text_tag("password", room:get_password()); end
	for jid, affiliation in room:each_affiliation() do
		state:tag("affiliation", { jid = jid, affiliation = affiliation }):up();
	end
	return state;
end

local function configure(room, tag)
	local attr = tag.attr;
	local changed = false;
	local function set(name, value)
		if room["get_" .. name](room) ~= value then
			room["set_" .. name](room, value);
			changed = true;
		end
	end
	set("name", tag:get_child_text("name") or nil);
	set("description", tag:get_child_text("description") or nil);
	set("password", tag:get_child_text("password") or nil);
	set("public", is_true(attr.public));
	set("members_only", is_true(attr["members-only"]));
	set("persistent", is_true(attr.persistent));
	set("whois", attr.whois == "anyone" and "anyone" or "moderators");
	local archiving = is_true(attr.archiving);
	if (room._data.archiving ~= false) ~= archiving then
		room._data.archiving = archiving;
		changed = true;
	end
	return changed;
end

local function set_affiliations(room, tag)
	local wanted = {};
	for item in tag:childtags("affiliation") do
		local jid = jid_util.prep(item.attr.jid);
		if not jid then return nil, "bad affiliation JID " .. tostring(item.attr.jid); end
		wanted[jid] = item.attr.affiliation;
	end
	local changed = false;
	local current = {};
	for jid, affiliation in room:each_affiliation() do current[jid] = affiliation; end
	-- Users of our host who lost their affiliation go first, then grants.
	for jid in pairs(current) do
		if not wanted[jid] and select(2, jid_util.split(jid)) == user_host then
			local ok, _, condition = room:set_affiliation(true, jid, "none");
			if not ok then return nil, "could not clear " .. jid .. ": " .. tostring(condition); end
			changed = true;
		end
	end
	for jid, affiliation in pairs(wanted) do
		if current[jid] ~= affiliation then
			local ok, _, condition = room:set_affiliation(true, jid, affiliation);
			if not ok then return nil, "could not set " .. jid .. ": " .. tostring(condition); end
			changed = true;
		end
	end
	return changed;
end

local function get_live_room(room_jid)
	local room = mod_muc.get_room_from_jid(room_jid);
	if room and room._data.destroyed then
		-- A tombstone: the portal re-creating the room replaces it.
		mod_muc.delete_room(room);
		mod_muc.forget_room(room);
		return nil;
	end
	return room;
end

local function refresh_bookmarks(room)
	for jid, affiliation in room:each_affiliation() do
		local username = is_member(affiliation) and local_user(jid);
		if username then add_bookmark(username, room, true); end
	end
end

local function set_room(tag)
	local room_jid = jid_util.prep(tag.attr.jid);
	if not room_jid or jid_util.bare(room_jid) ~= room_jid or jid_util.host(room_jid) ~= module.host
		or not jid_util.node(room_jid) then
		return nil, "jid must be a room on " .. module.host;
	end
	local room = get_live_room(room_jid);
	local created = false;
	if not room then
		local err;
		room, err = mod_muc.create_room(room_jid);
		if not room then return nil, "could not create room: " .. tostring(err); end
		created = true;
	end
	local configured = configure(room, tag);
	local affiliated, err = set_affiliations(room, tag);
	if affiliated == nil then return nil, err; end
	refresh_bookmarks(room);
	-- set_affiliation saves the whole room (configuration too); one write is
	-- enough, as each also rewrites mod_muc's list of persistent rooms.
	if not affiliated then room:save(true); end
	if created then module:log("info", "Room %s created by the bridge", room_jid); end
	return created or configured or affiliated;
end

local function destroy_room(tag)
	local room_jid = jid_util.prep(tag.attr.jid);
	local room = room_jid and mod_muc.get_room_from_jid(room_jid);
	if not room or room._data.destroyed then return false; end
	room:destroy(nil, tag:get_child_text("reason"));
	module:log("info", "Room %s destroyed by the bridge", room_jid);
	return true;
end

---------- Requests from the bridge ----------

local function from_bridge(event)
	if event.stanza.attr.from ~= bridge_jid then
		event.origin.send(st.error_reply(event.stanza, "auth", "forbidden"));
		return false;
	end
	return true;
end

local function apply(event, operation)
	if not from_bridge(event) then return true; end
	applying = true;
	local ok, changed, err = pcall(operation, event.stanza.tags[1]);
	applying = false;
	if not ok then
		module:log("error", "Room operation failed: %s", tostring(changed));
		event.origin.send(st.error_reply(event.stanza, "wait", "internal-server-error", tostring(changed)));
	elseif changed == nil then
		event.origin.send(st.error_reply(event.stanza, "modify", "bad-request", err));
	else
		event.origin.send(st.reply(event.stanza)
			:tag("done", { xmlns = xmlns, changed = changed and "true" or "false" }));
	end
	return true;
end

module:hook("iq-set/host/" .. xmlns .. ":room", function(event)
	return apply(event, set_room);
end);

module:hook("iq-set/host/" .. xmlns .. ":destroy", function(event)
	return apply(event, destroy_room);
end);

-- mod_muc's own stores, read directly for rooms that are not live: restoring
-- them through mod_muc would push them into its room cache (100 by default),
-- evicting and re-saving others: a listing of 1,000 rooms would write ~900.
local room_configs = module:open_store("config");
local persistent_rooms = module:open_store("persistent");

local function stored_room(room_jid)
	local frozen = room_configs:get(jid_util.node(room_jid));
	if not frozen then return nil; end
	local room = mod_muc.new_room(room_jid, frozen._data);
	for jid, affiliation in pairs(frozen._affiliations or frozen) do
		local _, host, resource = jid_util.split(jid);
		if type(affiliation) == "string" and host and host:sub(1, 1) ~= "_" and not resource then
			room._affiliations[jid] = affiliation;
		end
	end
	return room;
end

module:hook("iq-get/host/" .. xmlns .. ":list", function(event)
	if not from_bridge(event) then return true; end
	local reply = st.reply(event.stanza):tag("list", { xmlns = xmlns });
	local listed = {};
	for room in mod_muc.live_rooms() do
		reply:add_child(room_state(room, "room"));
		listed[room.jid] = true;
	end
	for room_jid in pairs(persistent_rooms:get(nil) or {}) do
		local room = not listed[room_jid] and stored_room(room_jid);
		if room then reply:add_child(room_state(room, "room")); end
	end
	event.origin.send(reply);
	return true;
end);

---------- Events for the bridge ----------

local function tell_bridge(payload)
	module:send(st.message({ from = module.host, to = bridge_jid, type = "normal" }):add_child(payload));
end

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
			refresh_bookmarks(room); -- the name may have changed
			local state = room_state(room, "room", { event = "changed", creator = info.creator });
			for _, change in ipairs(info.changes or {}) do
				state:tag("affiliation-changed", { jid = change.jid, affiliation = change.affiliation,
					previous = change.previous, actor = change.actor });
				if change.reason then state:text_tag("reason", change.reason); end
				state:up();
			end
			tell_bridge(state);
		end
	end
end

local function room_changed(room, creator)
	if applying then return; end
	local info = changed_rooms[room.jid] or {};
	info.creator = info.creator or creator;
	changed_rooms[room.jid] = info;
	if not flush_scheduled then
		flush_scheduled = true;
		module:add_timer(0, flush_changed);
	end
	return info;
end

module:hook("muc-room-created", function(event)
	local creator = event.creator and jid_util.bare(event.creator.bare_jid);
	room_changed(event.room, creator);
end);

module:hook("muc-config-submitted", function(event)
	room_changed(event.room);
end);

module:hook("muc-set-affiliation", function(event)
	local info = room_changed(event.room);
	-- Who did it and why, for the portal's audit log (the state says what is now).
	if info and type(event.actor) == "string" then
		info.changes = info.changes or {};
		table.insert(info.changes, { jid = event.jid, affiliation = event.affiliation,
			previous = event.previous_affiliation, actor = jid_util.bare(event.actor), reason = event.reason });
	end
end);

module:hook("muc-room-destroyed", function(event)
	local room = event.room;
	if room._data.destroyed then return; end -- a tombstone going away
	for jid, affiliation in room:each_affiliation() do
		local username = is_member(affiliation) and local_user(jid);
		if username then remove_bookmark(username, room.jid); end
	end
	changed_rooms[room.jid] = nil;
	if not applying then
		tell_bridge(st.stanza("destroyed", { xmlns = xmlns, jid = room.jid }));
	end
end, 10);

-- Occupant counts, sent at most once per interval for the rooms that changed.
local counted_rooms = {};
local count_scheduled = false;

local function flush_counts()
	count_scheduled = false;
	local rooms = counted_rooms;
	counted_rooms = {};
	local payload = st.stanza("occupants", { xmlns = xmlns });
	for room_jid, room in pairs(rooms) do
		payload:tag("room", { jid = room_jid, count = tostring(count_occupants(room)) });
		add_occupants(payload, room);
		payload:up();
	end
	tell_bridge(payload);
end

local function occupants_changed(event)
	counted_rooms[event.room.jid] = event.room;
	if not count_scheduled then
		count_scheduled = true;
		module:add_timer(occupants_interval, flush_counts);
	end
end

-- Role changes (voice, moderator) are announced by presence only; other
-- presence updates (status, away) are not worth a report.
local reported_roles = {}; -- occupant's room nick JID -> role last seen

module:hook("muc-occupant-joined", occupants_changed);
module:hook("muc-occupant-left", function(event)
	reported_roles[event.nick] = nil;
	occupants_changed(event);
end);
module:hook("muc-broadcast-presence", function(event)
	local occupant = event.occupant;
	if not occupant or reported_roles[occupant.nick] == occupant.role then return; end
	local known = reported_roles[occupant.nick] ~= nil;
	reported_roles[occupant.nick] = occupant.role;
	if known then occupants_changed(event); end -- a join is reported by muc-occupant-joined
end);
