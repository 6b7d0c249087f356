"""The benchmark code, run once at tiny sizes so that it cannot rot: each
scenario still measures what it claims (every message arrives, every sync
effect is seen), against the real Prosody, bridge and portal it benchmarks."""

import pytest
from django.core.management import call_command

from bench import (
    callgrind,
    direct,
    fanout,
    login_storm,
    portal_pages,
    reconcile,
    rooms,
    sync_latency,
)
from bench.stack import Workspace
from stack.bridge_process import django_database_url


class TestDatabaseWorkspace(Workspace):
    """The scenarios' workspace on the test database instead of a bench file."""

    __test__ = False

    @property
    def database_url(self) -> str:
        return django_database_url()

    def fresh_database(self) -> None:
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module", autouse=True)
def session_bridge_paused(bridge):
    """The scenarios run their own bridge on the test database: the session's
    bridge would otherwise claim their outbox rows and apply them elsewhere."""
    bridge.stop()
    yield
    bridge.start()


@pytest.fixture
def workspace(tmp_path, settings):
    # Scenarios set these for their own servers; the fixture restores them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.XMPP_TOKEN_SECRET = settings.XMPP_TOKEN_SECRET
    return TestDatabaseWorkspace(tmp_path)


def test_room_fanout_delivers_every_message_to_every_occupant():
    profile = fanout.Profile(paced_seconds=0.5, closed_seconds=0.5, burst_per_sender=3)
    result = fanout.run_size(6, profile)
    assert result["connect_join_s"] > 0
    for phase in ("paced", "closed_loop", "open_loop"):
        report = result[phase]
        assert report["messages_sent"] > 0
        assert report["deliveries"] == report["messages_sent"] * 6, phase
        assert report["lost"] == 0 and report["duplicates"] == 0, phase
        assert report["p99_ms"] is not None and report["prosody_cpu_s"] >= 0
    # The Lua heap, live data after a full collection, within the process's RSS.
    assert 0 < result["lua_live_mb"] <= result["lua_heap_mb"] < result["prosody_rss_mb"]


def test_lua_profile_shows_where_prosody_spends_a_delivery():
    profile = fanout.Profile(paced_seconds=0, closed_seconds=0.5, burst_per_sender=3)
    result = fanout.run_size(6, profile, lua_profile=True)
    closed = result["lua_profile"]["closed_loop"]
    assert closed["unit"] == "delivery" and closed["units"] == result["closed_loop"]["deliveries"]
    assert closed["profiled_cpu_s"] > 0 and closed["self"]
    # Every room message goes through mod_muc's broadcast.
    assert any("broadcast" in entry["function"] for entry in closed["inclusive"])
    assert result["lua_profile"]["join"]["unit"] == "join presence"


def test_room_fanout_against_ejabberd_delivers_every_message():
    from bench import ejabberd

    # A skip would hide a missing install step: make test installs it too.
    assert ejabberd.installed(), "ejabberd is not installed (the Makefile's DEB_BENCH_PACKAGES)"
    profile = fanout.Profile(paced_seconds=0.5, closed_seconds=0.5, burst_per_sender=3)
    result = fanout.run_ejabberd_size(6, profile)
    for phase in ("paced", "closed_loop", "open_loop"):
        report = result[phase]
        assert report["deliveries"] == report["messages_sent"] * 6 > 0, phase
        assert report["lost"] == 0 and report["duplicates"] == 0, phase


def test_fanout_compares_prosody_configurations():
    configurations = fanout.run([], fanout.Profile(closed_seconds=0.3, burst_per_sender=2), 5)
    compared = configurations["configurations"]
    assert set(compared) - {"occupants", "rounds"} == set(fanout.CONFIGURATIONS)
    for name in fanout.CONFIGURATIONS:
        assert compared[name]["open_loop"]["lost"] == 0, name


def test_direct_messages_all_arrive():
    result = direct.run(3, direct.Profile(closed_seconds=0.5, burst_per_sender=3))
    assert result["open_loop"]["messages_sent"] == 9
    for phase in ("closed_loop", "open_loop"):
        assert result[phase]["lost"] == 0
        assert result[phase]["deliveries"] == result[phase]["messages_sent"]


def test_login_storm_measures_both_auths(workspace):
    result = login_storm.run(5, round_count=1)
    for case in ("chatboard_scram", "stock_scram", "chatboard_token_plain"):
        assert result[case]["logins"] == 5 and result[case]["failures"] == 0, case
    assert result["ratio_scram"] > 0


@pytest.mark.django_db(transaction=True)
def test_sync_latency_sees_each_portal_action_over_xmpp(workspace):
    result = sync_latency.run(workspace, 3)
    kinds = ["signup", "profile_change"]
    if rooms.installed():
        kinds += ["room_create", "room_edit", "room_membership"]
    for kind in kinds:
        assert result[kind]["operations"] == 3 and result[kind]["failures"] == 0, kind
        assert 0 < result[kind]["p50_ms"] < sync_latency.TIMEOUT * 1000
        assert result[kind]["outbox_to_applied"]["rows"] >= 1


@pytest.mark.django_db(transaction=True)
def test_reconcile_reports_cold_and_in_step_runs(workspace):
    result = reconcile.run(workspace, [3, 6], [2, 4])
    assert [size["users"] for size in result["users"]] == [3, 6]
    for size in result["users"]:
        assert size["cold"]["reconcile_s"] > 0 and size["warm"]["bridge_peak_rss_mb"] > 0
    assert "growth_per_user_cold" in result
    if rooms.installed():
        assert [size["rooms"] for size in result["rooms"]] == [2, 4]


@pytest.mark.django_db(transaction=True)
def test_portal_pages_are_timed_with_many_people(workspace):
    result = portal_pages.run(workspace, 60, room_count=30)
    assert result["people"] == 60
    assert result["people_first_page"]["p95_ms"] > 0
    assert result["people_search"]["requests"] == portal_pages.REQUESTS
    if rooms.installed():
        assert result["rooms_first_page"]["p95_ms"] > 0


def test_callgrind_counts_prosodys_instructions_for_logins_and_joins():
    result = callgrind.count_joins(3)
    # Three logins (a TLS handshake and SCRAM each) and nine presences: millions.
    assert result["instructions"] > 10_000_000
    assert result["instructions_per_presence"] == round(result["instructions"] / 9)
