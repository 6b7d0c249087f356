import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Tests sign many people up from one address; allauth would rate-limit them."""
    cache.clear()
    yield
    cache.clear()
