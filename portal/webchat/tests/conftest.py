import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Each test signs people up from 127.0.0.1; allauth's per-IP signup limit
    (kept in the cache) is for real visitors, not for a test suite."""
    cache.clear()
