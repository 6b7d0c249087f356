-- Room messages and presences handed straight to the occupant's session, on
-- the VirtualHost.
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
-- Profiled at 50-200 occupants, this handler cut the CPU per delivery by about
-- 45 % (mod_mam, mod_carbons); skipping the log line below, a fifth of the rest.
--
-- Joins: each of N joins makes about 2N presences (the room's occupants to the
-- newcomer, the newcomer to every occupant), each one routed to a full JID. For
-- an available or unavailable presence mod_presence's presence/full handler
-- only calls session.send; the handler below does the same without the log
-- line (mod_blocklist's 100 still runs first). Subscriptions, probes and errors
-- keep mod_presence's path.
--
-- Output waiting per connection: server_epoll buffers every write until the
-- connection's next writable event, and while it works through a stream of
-- joins, each one adding a presence to every occupant's buffer, that event
-- comes round only after many others. At 1,000 occupants 95-166 MB of
-- presences waited in buffers (bench/README.md). Once a connection holds
-- `chatboard_flush_after_stanzas` unsent stanzas, this handler writes them
-- out at once, as Prosody's opportunistic_writes does for every write of every
-- connection (a system call per stanza: at 1,000 occupants each join presence
-- cost a quarter more with it). Below the bound, writes stay batched.

local full_sessions = prosody.full_sessions;
local jid_bare = require "util.jid".bare;

local xmlns_st_id = "urn:xmpp:sid:0";
local flush_after = module:get_option_number("chatboard_flush_after_stanzas", 32);

-- The room sends the same stanza object to every occupant (only `to` changes),
-- so its <stanza-id> elements are checked once per message, not per occupant.
local checked_stanza, checked_result;

local function only_room_stanza_ids(stanza)
	if stanza == checked_stanza then return checked_result; end
	local room, result = nil, true;
	for _, tag in ipairs(stanza.tags) do
		if tag.name == "stanza-id" and tag.attr.xmlns == xmlns_st_id then
			room = room or jid_bare(stanza.attr.from);
			if tag.attr.by ~= room then
				result = false;
				break;
			end
		end
	end
	checked_stanza, checked_result = stanza, result;
	return result;
end

-- A session's send() as core/sessionmanager.lua made it logs a debug line built
-- with stanza:top_tag() before it runs the outgoing filters (stream management,
-- CSI) and writes: the string is built even with debug logging off, about a
-- fifth of the CPU per delivery. While a session still has that send() (no
-- module replaced it: closing, stream management resumption), the same two
-- steps run here without the log line; otherwise its own send() runs.
local stock_send = setmetatable({}, { __mode = "k" });

local function is_stock_send(session)
	local send = session.send;
	local known = stock_send[session];
	if known == nil then
		local info = debug.getinfo(send, "S");
		known = info.short_src:match("core/sessionmanager%.lua$") and send or false;
		stock_send[session] = known;
	end
	return known == send;
end

-- server_epoll keeps a connection's unsent writes in `writebuffer`: in 0.12 a
-- list of strings emptied in place, in 13 a util.dbuffer queueing them in
-- `items`. Its onwritable() sends them and keeps what the socket does not take
-- (the call its opportunistic writes make). Another network backend has no
-- such buffer, and nothing is flushed early.
local function unsent_writes(buffer)
	if type(buffer) ~= "table" then return 0; end
	local queued = buffer.items;
	if queued then return queued:count(); end
	return #buffer;
end

local function flush_if_backed_up(conn)
	if conn and unsent_writes(conn.writebuffer) >= flush_after
		and not conn._writing and not conn._write_lock then
		conn:onwritable();
	end
end

-- A room message is serialised once for all its copies. mod_muc routes the
-- same stanza object to every occupant and only changes `to`, so the text is
-- made once with a marker for `to` and each copy is the two halves around the
-- escaped address: serialising every copy was about a quarter of the CPU per
-- delivery. The halves are remade for another stanza, or for the same one
-- with other children, id or sender. A copy an outgoing filter replaced (the
-- websocket's clone) is serialised as usual.
local serialise_once = module:get_option_boolean("chatboard_serialise_room_messages_once", true);
local xml_escape = require "util.stanza".xml_escape;
local to_marker = "\1chatboard-to\1";
local made_for, made_children, made_id, made_from, head, tail;

local function serialised(stanza)
	local attr = stanza.attr;
	if stanza ~= made_for or #stanza ~= made_children or attr.id ~= made_id
		or attr.from ~= made_from then
		local to = attr.to;
		attr.to = to_marker;
		local text = tostring(stanza);
		attr.to = to;
		local at = text:find(to_marker, 1, true);
		if not at then return stanza; end
		made_for, made_children, made_id, made_from = stanza, #stanza, attr.id, attr.from;
		head, tail = text:sub(1, at - 1), text:sub(at + #to_marker);
	end
	return head .. xml_escape(attr.to) .. tail;
end

local function deliver(session, stanza, same_for_everyone)
	local sent;
	if not is_stock_send(session) then
		sent = session.send(stanza);
	else
		local filtered = session.filter("stanzas/out", stanza);
		if not filtered then return true; end
		if filtered == stanza and same_for_everyone then
			filtered = serialised(stanza);
		end
		sent = session.rawsend(filtered);
	end
	flush_if_backed_up(session.conn);
	return sent;
end

module:hook("message/full", function(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "groupchat" then return; end
	local session = full_sessions[stanza.attr.to];
	if not session or not only_room_stanza_ids(stanza) then return; end
	-- As mod_message: a session that cannot take it falls through to the usual path.
	if deliver(session, stanza, serialise_once) then
		return true;
	end
end, 1);

module:hook("presence/full", function(event)
	local stanza = event.stanza;
	local kind = stanza.attr.type;
	if kind ~= nil and kind ~= "unavailable" then return; end
	local session = full_sessions[stanza.attr.to];
	if not session then return; end
	-- As mod_presence: delivered or not, the presence is handled.
	deliver(session, stanza);
	return true;
end, 1);
