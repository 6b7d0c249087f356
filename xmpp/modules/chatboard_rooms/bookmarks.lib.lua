-- Members' bookmarks, for mod_chatboard_rooms.
--
-- A person of the parent host who is a member, admin or owner of a room has an
-- autojoin XEP-0402 bookmark for it (mod_bookmarks mirrors it for XEP-0048
-- clients), so their clients join the rooms the portal gave them. Kept apart
-- because this is the one part of rooms that writes somewhere else: to people's
-- PEP on the parent host.

local st = require "util.stanza";
local jid_util = require "util.jid";
local modulemanager = require "core.modulemanager";
local usermanager = require "core.usermanager";

local xmlns_bookmarks = "urn:xmpp:bookmarks:1";
local xmlns_pubsub = "http://jabber.org/protocol/pubsub";

-- The options mod_bookmarks uses, so both see the same node.
local bookmark_options = {
	persist_items = true; max_items = "max";
	send_last_published_item = "never"; access_model = "whitelist";
};

local bookmarks = {};

-- The VirtualHost whose people get bookmarks, and whose affiliations the bridge manages.
bookmarks.user_host = module:get_option_string("chatboard_user_host", (module.host:gsub("^[^%.]+%.", "")));
local user_host = bookmarks.user_host;

local function is_member(affiliation)
	return affiliation == "owner" or affiliation == "admin" or affiliation == "member";
end

local function local_user(jid)
	local node, host = jid_util.split(jid);
	if host ~= user_host or not node then return nil; end
	if not usermanager.user_exists(node, user_host) then return nil; end
	return node;
end

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

-- A muc-set-affiliation event, whoever made the change: bookmark on becoming a
-- member, retract on ceasing to be one.
function bookmarks.affiliation_changed(event)
	local username = local_user(event.jid);
	if not username then return; end
	local was, is = is_member(event.previous_affiliation), is_member(event.affiliation);
	if is and not was then
		add_bookmark(username, event.room);
	elseif was and not is then
		remove_bookmark(username, event.room.jid);
	end
end

-- Publishes the members' bookmarks that are missing or outdated (the name changed).
function bookmarks.refresh(room)
	for jid, affiliation in room:each_affiliation() do
		local username = is_member(affiliation) and local_user(jid);
		if username then add_bookmark(username, room, true); end
	end
end

function bookmarks.remove_all(room)
	for jid, affiliation in room:each_affiliation() do
		local username = is_member(affiliation) and local_user(jid);
		if username then remove_bookmark(username, room.jid); end
	end
end

return bookmarks;
