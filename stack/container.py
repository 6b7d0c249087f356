"""`python -m stack.container portal|prosody|health SERVICE`: how each production
container starts (see docker-compose.yml), and its healthcheck.

portal   migrate, collect static files, then serve under gunicorn
prosody  render the config, install the TLS certificates, run Prosody; reload it
         (SIGHUP) whenever a certificate is renewed
health   exit 0 when SERVICE (portal, prosody or bridge) is healthy

The CI test of the production configuration starts the same entry points outside
containers (tests/test_production.py), so what runs in production is what is tested.
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from stack.certs import ensure_dev_certificate
from stack.process import ManagedProcess
from stack.prosody import ConfigError, ProsodyConfig
from stack.tls import CertificateStore

REPO_DIR = Path(__file__).resolve().parent.parent
CERT_CHECK_SECONDS = 3600
FIRST_CERT_CHECK_SECONDS = 10


def runtime_dir(env) -> Path:
    return Path(env.get("CHATBOARD_RUNTIME_DIR") or REPO_DIR / "var")


def run_portal(env) -> int:
    manage = [sys.executable, "-m", "portal.manage"]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=REPO_DIR, check=True)
    subprocess.run(
        [*manage, "collectstatic", "--noinput", "-v0"], env=env, cwd=REPO_DIR, check=True
    )
    port = env.get("PORTAL_PORT") or "8000"
    # WEB_CONCURRENCY (worker processes) is read by gunicorn itself.
    argv = [
        sys.executable, "-m", "gunicorn", "portal.config.wsgi",
        "--chdir", str(REPO_DIR),
        "--bind", f"{env.get('PORTAL_BIND') or '0.0.0.0'}:{port}",
        "--worker-class", "gthread", "--threads", "4",
        "--access-logfile", "-", "--forwarded-allow-ips", "*",
    ]  # fmt: skip
    os.execve(sys.executable, argv, env)


def run_prosody(env) -> int:
    config = ProsodyConfig.from_env(env, runtime_dir(env) / "prosody")
    names = config.addresses.served
    sources = [Path(p) for p in (env.get("PROSODY_CERTS_SOURCE") or "").split(os.pathsep) if p]
    store = CertificateStore(sources, config.runtime_dir / "certs", names)
    store.install()
    # Until the proxy has obtained the real certificates (first start), Prosody
    # serves a self-signed one; the real ones replace it as soon as they appear.
    ensure_dev_certificate(store.target, config.addresses)
    config.write()
    user = env.get("PROSODY_RUN_AS")
    if user:
        subprocess.run(["chown", "-R", f"{user}:{user}", str(config.runtime_dir)], check=True)
    prosody = ManagedProcess(
        "prosody",
        ["prosody", "--config", config.config_path, "-F"],
        env={**env, "LANG": "C.UTF-8"},
        inherit_output=True,  # the container's log
        user=user or None,
        group=user or None,
        extra_groups=[] if user else None,
    ).start()

    def forward(signum, _frame):
        prosody.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    interval = float(env.get("PROSODY_CERTS_CHECK_SECONDS") or CERT_CHECK_SECONDS)
    reload_due = False
    while True:
        # Look often while some certificate is still missing (first start).
        timeout = interval if store.complete() else min(interval, FIRST_CERT_CHECK_SECONDS)
        try:
            return prosody.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if store.install():
                reload_due = True
                if user:
                    subprocess.run(["chown", "-R", f"{user}:{user}", str(store.target)])
            # Until its event loop runs, Prosody has no SIGHUP handler: it would die.
            if reload_due and prosody_healthy(env):
                print("certificates renewed: reloading Prosody", flush=True)
                prosody.send_signal(signal.SIGHUP)
                reload_due = False


def portal_healthy(env) -> bool:
    import urllib.request

    port = env.get("PORTAL_PORT") or "8000"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": env.get("CHATBOARD_WEB_HOST") or "localhost"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def prosody_healthy(env, timeout: float = 3.0) -> bool:
    """Prosody serves clients: a stream header on the c2s port gets stream features."""
    port = int(env.get("PROSODY_C2S_PORT") or 5222)
    header = (
        f"<?xml version='1.0'?><stream:stream to='{env.get('CHATBOARD_DOMAIN') or 'localhost'}'"
        " version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as sock:
            sock.sendall(header.encode())
            received = b""
            while b"features" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                received += chunk
            return True
    except OSError:
        return False


def bridge_healthy(env) -> bool:
    """The bridge keeps up: no outbox row has waited longer than it should."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.config.settings")
    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from portal.outbox.models import OutboxEntry

    limit = timezone.now() - timedelta(seconds=float(env.get("BRIDGE_HEALTH_MAX_LAG") or 120))
    late = OutboxEntry.objects.filter(state=OutboxEntry.State.PENDING, next_attempt_at__lt=limit)
    return not late.exists()


HEALTH = {"portal": portal_healthy, "prosody": prosody_healthy, "bridge": bridge_healthy}


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    command = argv[0] if argv else ""
    try:
        if command == "portal":
            return run_portal(env)
        if command == "prosody":
            return run_prosody(env)
        if command == "health" and argv[1:2] and argv[1] in HEALTH:
            return 0 if HEALTH[argv[1]](env) else 1
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:  # its output says why
        return error.returncode
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
