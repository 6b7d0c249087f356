"""The Converse.js files the chat page needs, out of the npm package's dist/.

The package (pinned in package.json, installed by `npm ci`) ships 24 MB of
builds, source maps and extras; the portal serves only what a page loads, under
a directory named after the package version. Webpack loads the locale chunks
by their plain names (no content hash), so every file under that versioned
directory is safe to cache for a year: a new Converse version is a new URL.

No Django imports here: settings.py reads the cache-header function.
"""

import json
from functools import cache
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_DIR / "node_modules" / "converse.js"
DIST_DIR = PACKAGE_DIR / "dist"

# Loaded by every chat page (the two bundles), by the CSS (fonts), or on demand
# by Converse itself (emoji data, custom emoji images, notification sounds).
PAGE_FILES = (
    "converse.min.js",
    "converse.min.css",
    "emoji.json",
    "webfonts/muli.ttf",
    "webfonts/baumans.ttf",
    "images/custom_emojis/converse.png",
    "images/custom_emojis/xmpp.png",
    "sounds/msg_received.mp3",
    "sounds/msg_received.ogg",
)
ONE_YEAR = 365 * 24 * 3600


@cache
def version() -> str:
    try:
        return json.loads((PACKAGE_DIR / "package.json").read_text())["version"]
    except FileNotFoundError:
        raise RuntimeError(
            f"Converse.js is not installed in {PACKAGE_DIR}: run `npm ci` (make does)."
        ) from None


def static_dir() -> str:
    """Where the files appear under STATIC_URL, e.g. ``converse/14.0.0``."""
    return f"converse/{version()}"


def locale_files(language: str) -> tuple[str, ...]:
    """The translation chunks Converse loads for a language (English is built in)."""
    if language == "en":
        return ()
    return (
        f"chunkjs/locales/{language}-LC_MESSAGES-converse-po.js",
        f"chunkjs/locales/dayjs/{language}-js.js",
    )


def needed_files(languages: list[str]) -> list[str]:
    files = list(PAGE_FILES)
    for language in languages:
        files.extend(locale_files(language))
    return files


def add_cache_headers(headers, path: str, url: str) -> None:
    """WhiteNoise hook: the versioned Converse directory never changes."""
    if f"/{static_dir()}/" in url:
        headers["Cache-Control"] = f"max-age={ONE_YEAR}, public, immutable"
