"""`python -m stack run|prepare|admin|exec -- CMD`: the local ChatBoard stack.

run      prepare, then start Prosody, the portal and the bridge in the foreground
prepare  runtime directory, secrets, certificate, Prosody config, migrations
admin    create a staff account (interactive)
exec     run a command with the stack's environment (used by `make test`)
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

from stack.environment import REPO_DIR, stack_environment
from stack.process import ProcessFailed, port_open
from stack.prosody import ConfigError, ProsodyConfig
from stack.supervisor import Service, Supervisor

MANAGE = [sys.executable, "-m", "portal.manage"]


def prepare(env: dict[str, str]) -> ProsodyConfig:
    config = ProsodyConfig.from_env(env, Path(env["CHATBOARD_RUNTIME_DIR"]) / "prosody")
    config.write()
    subprocess.run([*MANAGE, "migrate", "--noinput", "-v0"], env=env, cwd=REPO_DIR, check=True)
    return config


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run(env: dict[str, str]) -> int:
    ports = {name: int(env[name]) for name in env if name.endswith("_PORT") and env[name].isdigit()}
    taken = [f"{name}={port}" for name, port in ports.items() if port_taken(port)]
    if taken:
        print(f"Ports already in use: {', '.join(taken)}. Stop what uses them or set other ports.")
        return 1
    config = prepare(env)
    portal_port = env["PORTAL_PORT"]
    services = [
        Service("prosody", ["prosody", "--config", str(config.config_path), "-F"]),
        Service("portal", [*MANAGE, "runserver", f"127.0.0.1:{portal_port}", "--noreload"]),
        Service("bridge", [sys.executable, "-m", "bridge"]),
    ]
    supervisor = Supervisor(services, env, str(REPO_DIR))
    try:
        prosody = supervisor.start("prosody")
        prosody.process.wait_ready(port_open(config.c2s_port), timeout=15)
        portal = supervisor.start("portal")
        supervisor.start("bridge")
        portal.process.wait_ready(port_open(int(portal_port)), timeout=30)
    except ProcessFailed as error:
        print(f"!! the stack did not start: {error}")
        supervisor.stop_all()
        return 1
    print(
        f"\nChatBoard is ready: http://localhost:{portal_port}/\n"
        f"  XMPP: {config.domain} on port {config.c2s_port} (STARTTLS), "
        f"websocket ws://localhost:{config.http_port}/xmpp-websocket\n"
        "  Create a staff account: make admin    Stop: Ctrl-C\n",
        flush=True,
    )
    return supervisor.watch()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    try:
        env = stack_environment()
        if command == "run":
            return run(env)
        if command == "prepare":
            prepare(env)
            return 0
        if command == "admin":
            return subprocess.call([*MANAGE, "createsuperuser"], env=env, cwd=REPO_DIR)
        if command == "exec":
            args = argv[2:] if argv[1:2] == ["--"] else argv[1:]
            os.execvpe(args[0], args, env)
    except (ConfigError, ValueError) as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
