"""Reconcile: how long the bridge takes to bring an empty Prosody in step with
the portal (cold: every account created, every profile published), then to
check it again when nothing differs (warm), and its peak RSS. Each size starts
from a fresh database and a fresh Prosody; growth should be linear. With the
rooms app, the same for rooms (a few members each; the people behind them are
reconciled too, a fixed number)."""

import re
import time

from bench import rooms
from bench.population import create_people
from bench.servers import process_cpu_seconds
from bench.stack import Workspace, bridge_process, chatboard_prosody

RECONCILED = re.compile(r"reconciled in ([0-9.]+) s")
PEAK_RSS = re.compile(r"peak RSS ([0-9.]+) MB")


def reconcile_once(workspace: Workspace, config, server, secret: str) -> dict:
    started, cpu_before = time.perf_counter(), process_cpu_seconds(server.process.pid)
    output = bridge_process(workspace, config, secret).reconcile_once()
    wall = time.perf_counter() - started
    return {
        "reconcile_s": float(RECONCILED.findall(output)[-1]),
        "process_s": round(wall, 2),
        # CPU time holds still on a noisy machine where wall time does not.
        "prosody_cpu_s": round(process_cpu_seconds(server.process.pid) - cpu_before, 2),
        "bridge_peak_rss_mb": float(PEAK_RSS.findall(output)[-1]),
    }


def run_size(workspace: Workspace, users: int) -> dict:
    workspace.fresh_database()
    create_people(users)
    with chatboard_prosody(workspace.run_dir) as (config, server, secret):
        cold = reconcile_once(workspace, config, server, secret)
        warm = reconcile_once(workspace, config, server, secret)
    return {"users": users, "cold": cold, "warm": warm}


ROOM_PEOPLE = 100  # people behind the rooms' owners and members


def run_rooms(workspace: Workspace, count: int) -> dict:
    workspace.fresh_database()
    rooms.create_rooms(count, create_people(ROOM_PEOPLE))
    with chatboard_prosody(workspace.run_dir) as (config, server, secret):
        cold = reconcile_once(workspace, config, server, secret)
        warm = reconcile_once(workspace, config, server, secret)
    return {"rooms": count, "people": ROOM_PEOPLE, "cold": cold, "warm": warm}


def run(workspace: Workspace, sizes: list[int], room_sizes: list[int] = ()) -> dict:
    results = {"users": [run_size(workspace, n) for n in sizes]}
    first, last = results["users"][0], results["users"][-1]
    if last["users"] != first["users"]:
        # 1.0 is linear: time per user at the largest size over that at the smallest.
        results["growth_per_user_cold"] = round(
            (last["cold"]["reconcile_s"] / last["users"])
            / (first["cold"]["reconcile_s"] / first["users"]),
            2,
        )
    if rooms.installed():
        results["rooms"] = [run_rooms(workspace, n) for n in room_sizes]
    else:
        results["rooms"] = rooms.SKIPPED
    return results
