-- Room state, for mod_chatboard_rooms: a room as the portal describes it.
--
-- The portal owns rooms. This applies the state it wants (create the room,
-- set its whole configuration and the affiliations of the parent host's
-- people) and describes rooms in the same terms, for the reconciler's listing
-- and for the events sent to the bridge. Every operation sets to a value, so a
-- request replayed by the bridge changes nothing the second time.

local st = require "util.stanza";
local jid_util = require "util.jid";
local bookmarks = module:require "chatboard_rooms/bookmarks";

local xmlns = "urn:chatboard:rooms:0";
local tombstone_ttl = module:get_option_number("muc_tombstone_expiry", 86400 * 31);
local user_host = bookmarks.user_host;

local mod_muc = module:depends("muc");

local state = {};

local function is_true(value)
	return value == "true" or value == "1";
end

function state.count_occupants(room)
	local count = 0;
	for _ in room:each_occupant() do count = count + 1; end
	return count;
end

-- Who is in the room now: nickname, real bare JID and role. The bridge needs the
-- real JID to link local people to their profiles; the portal shows it only to
-- those the room lets see real JIDs, and the role to its moderators.
function state.add_occupants(parent, room)
	for _, occupant in room:each_occupant() do
		local nick = jid_util.resource(occupant.nick);
		parent:tag("occupant", { nick = nick, jid = occupant.bare_jid, role = occupant.role }):up();
	end
end

-- The room as a <tag_name> element with `attr` added; a tombstone is only its
-- address and when it was destroyed.
function state.describe(room, tag_name, attr)
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
	attr.occupants = tostring(state.count_occupants(room));
	local description = st.stanza(tag_name, attr);
	state.add_occupants(description, room);
	if room:get_name() then description:text_tag("name", room:get_name()); end
	if room:get_description() then description:text_tag("description", room:get_description()); end
	if room:get_password() then description:text_tag("password", room:get_password()); end
	for jid, affiliation in room:each_affiliation() do
		description:tag("affiliation", { jid = jid, affiliation = affiliation }):up();
	end
	return description;
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

-- A <room> request: returns whether anything changed, or nil and why not.
function state.set_room(tag)
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
	bookmarks.refresh(room);
	-- set_affiliation saves the whole room (configuration too); one write is
	-- enough, as each also rewrites mod_muc's list of persistent rooms.
	if not affiliated then room:save(true); end
	if created then module:log("info", "Room %s created by the bridge", room_jid); end
	return created or configured or affiliated;
end

-- A <destroy> request: occupants are told the reason; a missing room is no change.
function state.destroy_room(tag)
	local room_jid = jid_util.prep(tag.attr.jid);
	local room = room_jid and mod_muc.get_room_from_jid(room_jid);
	if not room or room._data.destroyed then return false; end
	room:destroy(nil, tag:get_child_text("reason"));
	module:log("info", "Room %s destroyed by the bridge", room_jid);
	return true;
end

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

-- Every room, as a list: the live ones (tombstones too), then the stored ones
-- not live.
function state.all_rooms()
	local rooms, listed = {}, {};
	for room in mod_muc.live_rooms() do
		rooms[#rooms + 1] = room;
		listed[room.jid] = true;
	end
	for room_jid in pairs(persistent_rooms:get(nil) or {}) do
		local room = not listed[room_jid] and stored_room(room_jid);
		if room then rooms[#rooms + 1] = room; end
	end
	return rooms;
end

return state;
