-- ChatBoard's authentication provider.
--
-- Passwords are checked exactly like internal_hashed (same "accounts" store, so
-- the data stays readable by the stock provider), with two additions:
--   * an account can be disabled (`disabled = true` in its record): every
--     mechanism refuses it, tokens included;
--   * a password of the form "cbt1.<expiry>.<hmac>" is a web-chat token minted
--     by the portal: HMAC-SHA256 over "<username>@<host>.<expiry>" with the
--     shared `chatboard_token_secret`. Tokens arrive through PLAIN only.
-- Prosody never calls the portal: a reconnect storm costs SCRAM, nothing more.

local new_sasl = require "util.sasl".new;
local scram_hashers = require "util.sasl.scram".hashers;
local hashes = require "util.hashes";
local hex = require "util.hex";
local saslprep = require "util.encodings".stringprep.saslprep;
local generate_uuid = require "util.uuid".generate;

local host = module.host;
local accounts = module:open_store("accounts");

local token_secret = module:get_option_string("chatboard_token_secret");
assert(token_secret and #token_secret >= 32,
	"chatboard_token_secret must be set to at least 32 characters");
local token_max_lifetime = module:get_option_number("chatboard_token_max_lifetime", 300);
local clock_skew = 30;
local default_iteration_count = module:get_option_number("default_iteration_count", 10000);
local get_auth_db = scram_hashers["SHA-1"];

local function is_token(password)
	return password:sub(1, 5) == "cbt1.";
end

local function check_token(username, token)
	local expiry, mac = token:match("^cbt1%.(%d+)%.(%x+)$");
	expiry = tonumber(expiry);
	if not expiry then
		return nil, "Malformed token";
	end
	local now = os.time();
	if expiry < now then
		return nil, "Token expired";
	end
	if expiry > now + token_max_lifetime + clock_skew then
		return nil, "Token lifetime exceeds the allowed maximum";
	end
	local expected = hashes.hmac_sha256(token_secret, username .. "@" .. host .. "." .. expiry, true);
	if not hashes.equals(expected, mac:lower()) then
		return nil, "Invalid token";
	end
	return true;
end

local function check_scram_password(credentials, password)
	if not (credentials.salt and credentials.iteration_count and credentials.stored_key) then
		return nil, "Incomplete credentials";
	end
	local valid, stored_key, server_key = get_auth_db(password, credentials.salt, credentials.iteration_count);
	if valid and hashes.equals(hex.encode(stored_key), credentials.stored_key)
		and hashes.equals(hex.encode(server_key), credentials.server_key) then
		return true;
	end
	return nil, "Invalid username or password";
end

local provider = {};

function provider.test_password(username, password)
	local credentials = accounts:get(username);
	if not credentials then
		return nil, "Invalid username or password";
	end
	if credentials.disabled then
		return nil, "Account disabled";
	end
	password = saslprep(password);
	if not password then
		return nil, "Password fails SASLprep";
	end
	if is_token(password) then
		return check_token(username, password);
	end
	return check_scram_password(credentials, password);
end

local function hashed_credentials(password)
	local salt = generate_uuid();
	local valid, stored_key, server_key = get_auth_db(password, salt, default_iteration_count);
	if not valid then
		return nil, stored_key;
	end
	return {
		salt = salt, iteration_count = default_iteration_count,
		stored_key = hex.encode(stored_key), server_key = hex.encode(server_key),
	};
end

-- For prosodyctl and the admin shell; the portal provisions through
-- mod_chatboard_accounts with keys it derived itself.
function provider.set_password(username, password)
	local account = accounts:get(username);
	if not account then
		return nil, "Account not available";
	end
	local credentials, err = hashed_credentials(password);
	if not credentials then
		return nil, err;
	end
	credentials.disabled = account.disabled;
	return accounts:set(username, credentials);
end

function provider.user_exists(username)
	return accounts:get(username) ~= nil;
end

function provider.is_enabled(username)
	local account = accounts:get(username);
	return account ~= nil and not account.disabled;
end

function provider.users()
	return accounts:users();
end

function provider.create_user(username, password)
	if accounts:get(username) then
		return nil, "User exists";
	end
	local credentials, err = hashed_credentials(password or generate_uuid());
	if not credentials then
		return nil, err;
	end
	return accounts:set(username, credentials);
end

function provider.delete_user(username)
	return accounts:set(username, nil);
end

function provider.get_sasl_handler()
	local profile = {
		plain_test = function(_, username, password)
			return provider.test_password(username, password), true;
		end;
		scram_sha_1 = function(_, username)
			local credentials = accounts:get(username);
			if not (credentials and credentials.stored_key) then
				return;
			end
			return hex.decode(credentials.stored_key), hex.decode(credentials.server_key),
				credentials.iteration_count, credentials.salt, not credentials.disabled;
		end;
	};
	return new_sasl(host, profile);
end

module:provides("auth", provider);
