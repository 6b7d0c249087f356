-- A cap on how fast one person can talk in a room, loaded on the MUC component.
--
-- Each sender (real bare JID) may send `chatboard_muc_message_burst` messages
-- to a room at once, refilled at `chatboard_muc_message_rate` per second;
-- past that, a message is refused with a policy-violation error to its sender
-- and reaches nobody. Counted per real JID, not per occupant, so rejoining or
-- changing nick does not reset it. A rate of 0 turns the cap off.

local st = require "util.stanza";
local cache = require "util.cache";
local jid_bare = require "util.jid".bare;
local throttle = require "util.throttle";

local rate = module:get_option_number("chatboard_muc_message_rate", 2);
local burst = module:get_option_number("chatboard_muc_message_burst", 10);

local buckets = cache.new(10000);

-- After mod_muc's own check that the sender may speak (priority 50).
module:hook("muc-occupant-groupchat", function(event)
	if rate <= 0 then return; end
	local stanza = event.stanza;
	local key = event.room.jid .. " " .. (jid_bare(stanza.attr.from) or "");
	local bucket = buckets:get(key);
	if not bucket then
		bucket = throttle.create(burst, burst / rate);
		buckets:set(key, bucket);
	end
	if not bucket:poll(1) then
		event.origin.send(st.error_reply(stanza, "wait", "policy-violation",
			"You are sending messages too fast; wait a moment"));
		return true;
	end
end, 10);
