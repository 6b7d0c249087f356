-- Prosody modules: `module` and `prosody` are provided by the server.
std = "lua51"
globals = { "module", "prosody" }
max_line_length = 120
