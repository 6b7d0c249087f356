"""Browser fixtures: Debian's Chromium driven by Playwright, one browser per session.

Each person in a test gets their own browser context (separate cookies and
storage). Every request and websocket a context opens is recorded, so tests can
assert that pages talk to the portal and Prosody only. Screenshots go to
test-artifacts/ (git-ignored).
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stack.chromium import CHROMIUM, CHROMIUM_ARGS
from stack.environment import REPO_DIR

ARTIFACTS_DIR = REPO_DIR / "test-artifacts"


@dataclass
class Person:
    """One person at their own browser: a context, its page and what it requested."""

    name: str
    context: object
    page: object
    requests: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        """Every host:port this person's pages contacted (HTTP and websockets)."""
        return {urlsplit(url).netloc for url in self.requests if not url.startswith("data:")}

    def screenshot(self, step: str) -> Path:
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        path = ARTIFACTS_DIR / f"{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API keeps an event loop in this thread while it runs;
    # module scope ends it before other modules' tests run their own loops.
    # The portal's ORM calls from the test body are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_browser(chromium):
    """Factory: `open_browser("alice", locale="ru")` -> a Person with a fresh context."""
    contexts = []

    def open_(name: str, locale: str = "en-US") -> Person:
        context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        person = Person(name, context, page)
        context.on("request", lambda request: person.requests.append(request.url))
        page.on("websocket", lambda websocket: person.requests.append(websocket.url))
        return person

    yield open_
    for context in contexts:
        context.close()


def off_browser_thread(function, *args, **kwargs):
    """Run `function` in a worker thread: asyncio.run() (the slixmpp test client)
    refuses to start inside the thread where Playwright's event loop runs."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()
