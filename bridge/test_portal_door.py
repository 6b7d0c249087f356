"""The bridge reaches the portal through one door, bridge/portal.py, and what
crosses it is plain data: frozen dataclasses that need no Django."""

import ast
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import portal
from bridge.accounts import AccountSync
from bridge.occupants import OccupantSync
from bridge.outbox import OutboxConsumer
from bridge.portal import Topic
from bridge.profiles import ProfileSync
from bridge.rooms import RoomSync

BRIDGE = Path(__file__).resolve().parent
REPO = BRIDGE.parent
# The portal's code as imports spell it: the package `portal` and Django (its app
# names too, so that an import of an app as a top-level package is caught).
PORTAL_PACKAGES = {path.parent.name for path in (REPO / "portal").glob("*/__init__.py")}
PORTAL_PACKAGES |= {"portal", "django"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):  # function-local imports too
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_only_bridge_portal_imports_portal_code():
    # Tests are left out: like the integration tests, they look into the
    # portal's database to check what the bridge did.
    modules = [path for path in BRIDGE.rglob("*.py") if not path.name.startswith("test_")]
    assert BRIDGE / "portal.py" in modules and BRIDGE / "prosody" / "rooms.py" in modules
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_packages(path) & PORTAL_PACKAGES)
        for path in modules
        if path != BRIDGE / "portal.py"
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_bridge_loads_without_django_until_a_portal_is_made():
    """What crosses the door is importable, with every bridge module, before Django
    is set up: the payloads carry no Django in them."""
    code = (
        "import sys, bridge.__main__, bridge.test_portal_door\n"
        "loaded = sorted(m for m in sys.modules if m.partition('.')[0] == 'django')\n"
        "assert not loaded, loaded\n"
    )
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_what_crosses_the_door_is_frozen_dataclasses():
    payloads = [getattr(portal, name) for name in portal.__all__]
    payloads = [kind for kind in payloads if dataclasses.is_dataclass(kind)]
    assert len(payloads) >= 10
    for kind in payloads:
        assert kind.__dataclass_params__.frozen, kind
        assert "__slots__" in vars(kind), kind


def test_every_outbox_topic_has_one_part_of_the_bridge():
    parts = [AccountSync, ProfileSync, RoomSync, OccupantSync]
    assert sorted(part.topic for part in parts) == sorted(Topic)
    assert {topic.value for topic in Topic} == {"account", "profile", "room", "occupant"}


def test_two_parts_for_one_topic_are_refused():
    class Rooms:
        topic = Topic.ROOM

        async def apply(self, key: str) -> None:
            pass

    with pytest.raises(ValueError, match="two parts apply topic room"):
        OutboxConsumer(None, None, [Rooms(), Rooms()], poll_interval=1)
