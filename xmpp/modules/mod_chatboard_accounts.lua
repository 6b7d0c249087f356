-- Account provisioning for the ChatBoard bridge.
--
-- The portal owns accounts. It derives SCRAM credentials itself, so only
-- hashed keys ever reach Prosody; Prosody 0.12 has no standard command that
-- accepts pre-hashed credentials, hence this module. It answers IQs in the
-- urn:chatboard:accounts:0 namespace, and only from `chatboard_bridge_jid`
-- (chatboard_bridge.lib.lua refuses everyone else).
--
--   set <account username salt iterations stored-key server-key active/>
--       create or update; ends live sessions when the credentials change or
--       the account is disabled. Replies <done changed="true|false"/>.
--   set <delete username/>        delete the account and all its data.
--   get <list/>                   every account with a fingerprint of its
--                                 credentials and its number of live
--                                 sessions, for the reconciler.
--
-- It also tells the bridge when a person's sessions start and end, so staff
-- see in the portal when someone last logged in over XMPP and how many
-- sessions they have, without the portal ever asking Prosody:
--
--   <message from="<host>" to="<chatboard_bridge_jid>" type="normal">
--     <sessions xmlns="urn:chatboard:accounts:0" username="alice" count="2"
--               login="<unix time>"/>   (login only when a session started)
--   </message>

local st = require "util.stanza";
local nodeprep = require "util.encodings".stringprep.nodeprep;
local hashes = require "util.hashes";
local usermanager = require "core.usermanager";
local bridge = module:require "chatboard_bridge";

local xmlns = "urn:chatboard:accounts:0";
local host = module.host;
local accounts = module:open_store("accounts");

local function fingerprint(account)
	local parts = {
		account.salt or "", tostring(account.iteration_count or ""),
		account.stored_key or "", account.server_key or "",
		account.disabled and "disabled" or "active",
	};
	return hashes.sha256(table.concat(parts, "|"), true);
end

local function end_sessions(username, reason)
	local user = prosody.hosts[host].sessions[username];
	if not user then
		return 0;
	end
	local closed = 0;
	for _, session in pairs(user.sessions) do
		session:close({ condition = "not-authorized", text = reason });
		closed = closed + 1;
	end
	return closed;
end

local function session_count(username)
	local user = prosody.hosts[host].sessions[username];
	local count = 0;
	for _ in pairs(user and user.sessions or {}) do
		count = count + 1;
	end
	return count;
end

local function valid_username(username)
	return username and username ~= "" and nodeprep(username) == username;
end

local function is_hex(s, len)
	return type(s) == "string" and #s == len and s:match("^%x+$") ~= nil;
end

-- Every PLAIN login (web chat tokens aside) runs this many PBKDF2 rounds on
-- Prosody's one thread: an absurd or infinite count would stall the server.
local max_iterations = 1000000;
local max_salt_length = 256;

local function valid_iterations(n)
	return n ~= nil and n >= 4096 and n <= max_iterations and n == math.floor(n);
end

local function set_account(tag)
	local attr = tag.attr;
	local username = attr.username;
	local iterations = tonumber(attr.iterations);
	if not valid_username(username) then
		return nil, "username is not a valid localpart";
	end
	if not (attr.salt and #attr.salt > 0 and #attr.salt <= max_salt_length
		and valid_iterations(iterations)
		and is_hex(attr["stored-key"], 40) and is_hex(attr["server-key"], 40)) then
		return nil, "credentials are incomplete or malformed";
	end
	local previous = accounts:get(username);
	local account = {
		salt = attr.salt, iteration_count = iterations,
		stored_key = attr["stored-key"]:lower(), server_key = attr["server-key"]:lower(),
		disabled = attr.active ~= "true" or nil,
	};
	if previous and fingerprint(previous) == fingerprint(account) then
		return false;
	end
	local ok, err = accounts:set(username, account);
	if not ok then
		return nil, err or "storage error";
	end
	if previous and (account.disabled or previous.stored_key ~= account.stored_key) then
		local reason = account.disabled and "Account disabled" or "Password changed";
		end_sessions(username, reason);
	end
	module:log("info", "Account %s@%s %s", username, host, previous and "updated" or "created");
	return true;
end

local function delete_account(tag)
	local username = tag.attr.username;
	if not valid_username(username) then
		return nil, "username is not a valid localpart";
	end
	if not accounts:get(username) then
		return false;
	end
	end_sessions(username, "Account deleted");
	local ok, err = usermanager.delete_user(username, host);
	if not ok then
		return nil, err or "could not delete account";
	end
	module:log("info", "Account %s@%s deleted", username, host);
	return true;
end

bridge.hook_request("set", xmlns, "account", function(stanza)
	return bridge.done(stanza, set_account(stanza.tags[1]));
end);

bridge.hook_request("set", xmlns, "delete", function(stanza)
	return bridge.done(stanza, delete_account(stanza.tags[1]));
end);

bridge.hook_request("get", xmlns, "list", function(stanza)
	local reply = st.reply(stanza):tag("list", { xmlns = xmlns });
	for username in accounts:users() do
		local account = accounts:get(username);
		if account then
			reply:tag("account", {
				username = username, fingerprint = fingerprint(account),
				sessions = tostring(session_count(username)),
			}):up();
		end
	end
	return reply;
end);

-- The count is absolute, so a lost or repeated report does no lasting harm:
-- the next one (or the reconciler's list) puts it right.
local function report_sessions(username, login)
	bridge.report(st.stanza("sessions", {
		xmlns = xmlns, username = username, count = tostring(session_count(username)),
		login = login and tostring(math.floor(os.time())) or nil,
	}));
end

-- resource-bind fires once the session is in the user's list, resource-unbind
-- once it has left it; a stream-management session that hibernates stays bound.
module:hook("resource-bind", function(event)
	report_sessions(event.session.username, true);
end);

module:hook("resource-unbind", function(event)
	report_sessions(event.session.username, false);
end);
