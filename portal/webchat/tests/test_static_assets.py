"""Converse.js as production serves it: only the files a page needs, collected with
hashed names, gzipped, and cached by browsers for a year. Nothing from a CDN."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from portal.webchat import converse_dist
from portal.webchat.finders import ConverseFinder
from tests.people import sign_up

CONVERSE = f"/static/converse/{converse_dist.version()}"


def test_only_the_files_a_chat_page_needs_are_exposed():
    names = sorted(name for name, _storage in ConverseFinder().list([]))
    assert "converse.min.js" in names and "converse.min.css" in names
    assert "chunkjs/locales/ru-LC_MESSAGES-converse-po.js" in names
    assert not [name for name in names if name.endswith(".map")]
    assert "converse.js" not in names  # the unminified build
    assert not [name for name in names if "omemo" in name or name.endswith(".wasm")]
    assert not [name for name in names if "chunkjs/locales/de" in name]  # no unused locales
    assert finders.find(f"converse/{converse_dist.version()}/converse.min.js")
    assert not finders.find(f"converse/{converse_dist.version()}/converse.js")


def test_package_version_is_pinned_by_the_lockfile():
    import json

    lock = json.loads((converse_dist.REPO_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/converse.js"]["version"] == converse_dist.version()
    assert converse_dist.version() == "14.0.0"


@pytest.fixture
def collected_static(tmp_path, settings):
    """collectstatic into a fresh STATIC_ROOT with the production storage."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "portal.webchat.storage.StaticStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


@pytest.mark.django_db
def test_collected_converse_is_hashed_compressed_and_cached_for_a_year(collected_static):
    converse_dir = collected_static / "converse" / converse_dist.version()
    assert not list(converse_dir.rglob("*.map"))
    assert list(converse_dir.glob("converse.min.*.js.gz"))

    client = sign_up("wanda")  # a new client loads WhiteNoise over the new STATIC_ROOT
    page = client.get("/chat/").content.decode()
    script = re.search(rf'src="({CONVERSE}/converse\.min\.[0-9a-f]{{12}}\.js)"', page)
    assert script, "the page loads the hashed bundle"
    assert f'href="{CONVERSE}/converse.min.' in page
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page

    bundle = client.get(script.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert bundle.status_code == 200
    assert bundle["Content-Encoding"] == "gzip"
    assert bundle["Cache-Control"] == "max-age=31536000, public, immutable"
    page_script = re.search(r'src="(/static/webchat/chat\.[0-9a-f]{12}\.js)"', page)
    assert "immutable" in client.get(page_script.group(1))["Cache-Control"]

    # Converse loads its Russian chunk by plain name: cached for a year under its version.
    chunk = client.get(
        f"{CONVERSE}/chunkjs/locales/ru-LC_MESSAGES-converse-po.js", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert chunk.status_code == 200
    assert chunk["Content-Encoding"] == "gzip"
    assert chunk["Cache-Control"] == "max-age=31536000, public, immutable"

    assert client.get(f"{CONVERSE}/converse.js").status_code == 404
