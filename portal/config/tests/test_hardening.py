"""The portal's own defences: CSRF on every form, production's cookie and header
settings, DEBUG off unless the development stack asks, no secret in the repository."""

import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from portal.accounts.models import User
from portal.rooms.models import Room
from tests.people import sign_up

REPO = Path(__file__).resolve().parents[3]
SAMPLE_VALUES = ("lounge", "1", "accounts", "user", "alice", "a" * 40 + ".jpg")


def every_path(resolver=None, prefix=""):
    """One concrete path for each URL pattern, with sample values for its parameters."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from every_path(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            for path in concrete(prefix + str(entry.pattern)):
                yield path
                break


def concrete(pattern):
    """Paths matching a route (<conv:name>) or regex pattern, most plausible first."""
    pattern = pattern.lstrip("^").rstrip("$").replace("\\Z", "").replace("$", "").replace("^", "")
    for value in SAMPLE_VALUES:
        path = re.sub(r"<(?:\w+:)?\w+>", value, pattern)
        path = re.sub(r"\(\?P<\w+>[^)]*\)", value, path)
        path = "/" + path.replace("\\", "")
        try:
            resolve(path)
        except Resolver404:
            continue
        yield path


@pytest.mark.django_db
def test_every_post_without_a_csrf_token_is_refused():
    sign_up("alice")
    user = User.objects.get(username="alice")
    user.is_staff = user.is_superuser = True
    user.save()
    Room.objects.create(slug="lounge", name="Lounge")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    paths = sorted(set(every_path()))
    assert len(paths) > 40, paths  # the walk found the admin, allauth and our apps
    accepted = {}
    for path in paths:
        response = browser.post(path, {"name": "x", "slug": "x", "confirm": "lounge"})
        if response.status_code != 403:
            accepted[path] = response.status_code
    assert not accepted, f"POST accepted without a CSRF token: {accepted}"


def test_pages_carry_the_security_headers(client, db):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "HttpOnly" in str(response.cookies.get("sessionid", "HttpOnly"))


def settings_without(names: tuple[str, ...], **extra) -> dict:
    """The portal's settings as a process started with only the required secrets sees them."""
    env = {key: value for key, value in os.environ.items() if key not in names}
    env.update(extra)
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({k: getattr(settings, k, None) for k in ("
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_CONTENT_TYPE_NOSNIFF', "
        "'X_FRAME_OPTIONS', 'SECURE_PROXY_SSL_HEADER')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_debug_is_off_and_cookies_secure_unless_the_development_stack_asks():
    production = settings_without(("DJANGO_DEBUG",))
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"
    # Only the development stack (`make run`, `python -m stack`) turns DEBUG on.
    from stack.environment import DEFAULTS

    assert DEFAULTS["DJANGO_DEBUG"] == "true"
    assert "DJANGO_DEBUG" not in (REPO / "docker-compose.yml").read_text()
    assert "DJANGO_DEBUG" not in (REPO / "Dockerfile").read_text()


# ---------- No secret in the repository ----------

PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
KNOWN_KEY_SHAPES = re.compile(
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[abp]-[A-Za-z0-9-]{20,}|sk_live_\w{20,}"
)
ASSIGNED_SECRET = re.compile(
    r"""(?i)(secret|password|passwd|token|api_?key|private_?key)\w*["']?\s*[:=]\s*["']?"""
    r"""([A-Za-z0-9+/_\-]{20,}={0,2})"""
)
# Files of hashes and measurements, not of secrets.
NOT_SCANNED = {"package-lock.json"}


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def tracked_text_files():
    names = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in names:
        path = REPO / name
        if path.name in NOT_SCANNED or not path.is_file():
            continue
        try:
            yield name, path.read_text()
        except UnicodeDecodeError:
            continue


def secrets_in(text: str) -> list[str]:
    found = PEM_PRIVATE_KEY.findall(text) + KNOWN_KEY_SHAPES.findall(text)
    for match in ASSIGNED_SECRET.finditer(text):
        value = match.group(2)
        if entropy(value) > 4.0 and not re.fullmatch(r"[a-z_]+", value):
            found.append(value)
    return found


def test_the_scanner_finds_the_shapes_of_secrets():
    # Assembled here so that this file itself holds no such shape.
    key = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE...\n"
    assert secrets_in(key)
    assert secrets_in('DJANGO_SECRET_KEY="Zq8v1Nw3LxT0' + 'bR6yHcP2sJ9mK4dF7gA5uE"')
    assert secrets_in("token = ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6")
    assert not secrets_in('XMPP_TOKEN_SECRET = env_str("XMPP_TOKEN_SECRET", required=True)')
    assert not secrets_in('"stored-key": "a" * 40')


def test_no_secret_is_committed():
    leaks = {name: found for name, text in tracked_text_files() if (found := secrets_in(text))}
    assert not leaks, f"secrets in tracked files: {leaks}"


@pytest.mark.django_db
def test_password_guessing_is_rate_limited_per_account():
    """ACCOUNT_RATE_LIMIT_LOGIN_FAILED: 5 failures per account in 5 minutes."""
    sign_up("victim")
    attacker = Client()

    def attempt(password):
        response = attacker.post("/accounts/login/", {"login": "victim", "password": password})
        return response.status_code, b"Too many failed login attempts" in response.content

    assert [attempt(f"guess {n}") for n in range(5)] == [(200, False)] * 5
    assert attempt("guess 5") == (200, True)
    # Even the right password waits now: guessing it is no longer possible.
    assert attempt("correct horse battery") == (200, True)
