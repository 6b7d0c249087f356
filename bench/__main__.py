"""`make bench` (quick) or `make bench FULL=1`: run the benchmarks, write
bench/results/<date>.json and the table in bench/README.md.

Everything a run needs lives in one temporary directory (portal database,
Prosody data, logs) removed at the end; every server listens on free ports and
is stopped when its scenario ends, also on failure."""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import resource
import subprocess
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench import fanout

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCENARIOS = (
    "fanout",
    "direct",
    "login_storm",
    "sync_latency",
    "reconcile",
    "portal",
    "room_sync",
    "webchat",
)


@dataclass(frozen=True)
class Sizes:
    fanout_occupants: list[int] = field(default_factory=lambda: [10, 50, 200])
    fanout_phases: fanout.Profile = field(default_factory=fanout.Profile)
    fanout_compare_occupants: int = 200
    # The levers that moved the cost per delivery, and the features that cost most.
    fanout_configurations: list[str] = field(
        default_factory=lambda: [
            "production_template",
            "gc_prosody_default",
            "gc_incremental_200_200",
            "stock_groupchat_delivery",
            "stream_management",
            "opportunistic_writes",
            "no_early_flush",
            "serialise_each_copy",
            "prosody_13",
            "no_muc_archive",
            "production_c2s_rate",
        ]
    )
    fanout_compare_rounds: int = 2
    fanout_lua_profile: bool = False
    # The same room against ejabberd at each size (bench/ejabberd.py).
    fanout_reference: bool = True
    direct_pairs: int = 100
    logins: int = 200
    # The quick sizes keep `make bench` near 3 minutes; FULL has the sizes.
    sync_operations: int = 100
    reconcile_users: list[int] = field(default_factory=lambda: [200, 400])
    reconcile_rooms: list[int] = field(default_factory=lambda: [50, 100])
    portal_people: int = 10000
    room_sync_operations: int = 100
    room_sync_rooms: tuple[int, ...] = (100, 300)


QUICK = Sizes()
FULL = Sizes(
    fanout_occupants=[10, 50, 200, 500, 1000],
    fanout_phases=fanout.Profile(paced_seconds=5, closed_seconds=5, burst_per_sender=40),
    fanout_compare_occupants=200,
    fanout_configurations=list(fanout.CONFIGURATIONS),
    logins=1000,
    sync_operations=200,
    reconcile_users=[1000, 10000],
    reconcile_rooms=[100, 1000],
    room_sync_operations=200,
    room_sync_rooms=(100, 1000),
)


def machine() -> dict:
    def command(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "unavailable"

    import django
    import slixmpp

    return {
        "cpus": os.cpu_count(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "python": platform.python_version(),
        "prosody": command("dpkg-query", "-W", "-f=${Version}", "prosody"),
        "ejabberd": command("dpkg-query", "-W", "-f=${Version}", "ejabberd"),
        "prosody_13": fanout.prosody_13_version(),
        "slixmpp": slixmpp.__version__,
        "django": django.get_version(),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run_scenarios(workspace, sizes: Sizes, only: set[str], options=None) -> dict:
    from bench import (
        direct,
        login_storm,
        portal_pages,
        reconcile,
        room_sync,
        sync_latency,
        webchat_latency,
    )

    plan = {
        "fanout": lambda: fanout.run(
            sizes.fanout_occupants,
            sizes.fanout_phases,
            sizes.fanout_compare_occupants,
            sizes.fanout_configurations,
            rounds=sizes.fanout_compare_rounds,
            lua_profile=sizes.fanout_lua_profile,
            reference=sizes.fanout_reference,
        ),
        "direct": lambda: direct.run(sizes.direct_pairs, direct.Profile()),
        "login_storm": lambda: {
            "concurrent_logins": sizes.logins,
            **login_storm.run(sizes.logins),
        },
        "sync_latency": lambda: sync_latency.run(workspace, sizes.sync_operations),
        "reconcile": lambda: reconcile.run(workspace, sizes.reconcile_users, sizes.reconcile_rooms),
        "portal": lambda: portal_pages.run(workspace, sizes.portal_people),
        # Room create/rename latency and the rooms reconcile, from the rooms work.
        "room_sync": lambda: room_sync.run(
            operations=sizes.room_sync_operations, sizes=sizes.room_sync_rooms
        ),
        "webchat": lambda: webchat_latency.run(runs=20),
    }
    results = {}
    for name in SCENARIOS:
        if name in only:
            started = time.monotonic()
            print(f"bench: {name}...", flush=True)
            try:
                results[name] = plan[name]()
            except Exception as error:  # the other scenarios still run and report
                traceback.print_exc()
                results[name] = {"error": f"{type(error).__name__}: {error}"}
            results[name]["scenario_s"] = round(time.monotonic() - started, 1)
            print(json.dumps({name: results[name]}), flush=True)
    return results


def fanout_sizes(sizes: Sizes, args) -> Sizes:
    """The fan-out options of the command line over a profile's sizes."""
    changes = {"fanout_lua_profile": args.lua_profile}
    if args.no_ejabberd:
        changes["fanout_reference"] = False
    if args.occupants is not None:
        changes["fanout_occupants"] = [int(n) for n in args.occupants.split(",") if n]
    if args.compare is not None:
        names = [name for name in args.compare.split(",") if name]
        if unknown := set(names) - set(fanout.CONFIGURATIONS):
            raise SystemExit(f"unknown configurations: {', '.join(sorted(unknown))}")
        changes["fanout_configurations"] = names
    if args.compare_occupants is not None:
        changes["fanout_compare_occupants"] = args.compare_occupants
    if args.rounds is not None:
        changes["fanout_compare_rounds"] = args.rounds
    return dataclasses.replace(sizes, **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="the large sizes")
    parser.add_argument("--only", help=f"comma-separated scenarios of {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--lua-profile",
        action="store_true",
        help="fan-out: profile Prosody's Lua (bench/lua/mod_bench_profile.lua) per phase",
    )
    parser.add_argument(
        "--no-ejabberd", action="store_true", help="fan-out: skip the ejabberd reference"
    )
    parser.add_argument("--occupants", help="fan-out: comma-separated room sizes")
    parser.add_argument("--compare", help="fan-out: comma-separated configurations to compare")
    parser.add_argument("--compare-occupants", type=int, help="fan-out: room size compared")
    parser.add_argument("--rounds", type=int, help="fan-out: rounds of the comparison")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else set(SCENARIOS)
    if unknown := only - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    # A thousand clients here and a thousand connections in Prosody (which
    # inherits the limit): more than the usual soft limit of 1,024 descriptors.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with tempfile.TemporaryDirectory(prefix="chatboard-bench-") as tmp:
        from bench.stack import Workspace

        workspace = Workspace(Path(tmp))
        # Before django.setup(): the portal in this process and the bridge
        # processes share the bench database, never the development one.
        os.environ["DATABASE_URL"] = workspace.database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.config.settings")
        import django

        django.setup()
        workspace.prepare_database()
        started = time.monotonic()
        results = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": "make bench" + (" FULL=1" if args.full else ""),
            "machine": machine(),
            **run_scenarios(workspace, fanout_sizes(FULL if args.full else QUICK, args), only),
        }
        results["total_s"] = round(time.monotonic() - started, 1)
    if args.only:
        print(json.dumps(results, indent=2))
        return  # a partial run is not a result
    from bench import report

    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{results['date'][:10]}{'-full' if args.full else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    report.update_readme(results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
