"""The bridge's access to the portal's database, through the portal's own code.

The Django ORM is synchronous; every call runs on one dedicated thread so the
event loop never blocks and the bridge holds a single database connection.
"""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-db")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.config.settings")
    import django

    django.setup()


def _call_closing_stale(fn, *args, **kwargs):
    from django.db import close_old_connections

    close_old_connections()
    return fn(*args, **kwargs)


async def call(fn, *args, **kwargs):
    """Run a portal function on the database thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, partial(_call_closing_stale, fn, *args, **kwargs))
