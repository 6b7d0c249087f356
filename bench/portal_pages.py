"""Portal pages with many people (and rooms, with the rooms app): server time of
`/people/` (first page, a deep page, a search) and `/rooms/`, through Django's
test client in this process (middleware, view, queries and template; no
network). Goal: p95 under 100 ms."""

import time

from bench import rooms
from bench.population import create_people
from bench.stack import Workspace, fast_password_hashing
from bench.stats import percentile

REQUESTS = 60


def timed_get(client, url: str, requests: int) -> dict:
    client.get(url)  # first request: template compilation, not what users wait for
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    timings.sort()
    return {
        "requests": requests,
        "p50_ms": round(percentile(timings, 0.5) * 1000, 1),
        "p95_ms": round(percentile(timings, 0.95) * 1000, 1),
    }


def run(workspace: Workspace, people: int, room_count: int = 1000) -> dict:
    from django.test import Client
    from django.test.utils import override_settings

    from portal.accounts.models import User

    workspace.fresh_database()
    fast_password_hashing()
    usernames = create_people(people)
    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(username=usernames[0]))
    middle = people // 2
    pages = {
        "people_first_page": "/people/",
        "people_middle_page": f"/people/?page={max(1, middle // 50)}",
        "people_search": f"/people/?q={usernames[middle][-4:]}",
    }
    # Static file URLs without a collected manifest: the page, not the assets, is measured.
    storages = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    if rooms.installed():
        rooms.create_rooms(room_count, usernames[:50])
        pages["rooms_first_page"] = "/rooms/"
    with override_settings(STORAGES={**_storages(), **storages}):
        results = {name: timed_get(client, url, REQUESTS) for name, url in pages.items()}
    if rooms.installed():
        results["rooms"] = room_count
    else:
        results["rooms_page"] = rooms.SKIPPED
    return {"people": people, **results}


def _storages() -> dict:
    from django.conf import settings

    return dict(settings.STORAGES)
