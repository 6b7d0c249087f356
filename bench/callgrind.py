"""Prosody's instructions for a fixed piece of work, counted by callgrind.

CPU seconds on this shared machine move with whatever else runs; the number of
instructions Prosody executes for the same work does not (valgrind's callgrind
counts them, the same total on a quiet and on a loaded machine). The work here:
N lean clients log in (STARTTLS, SCRAM-SHA-1) and join one room, N² presences.
Counting starts after one warm-up login (code loaded, caches filled) and stops
before anyone leaves.

    python -m stack exec -- .venv/bin/python -m bench.callgrind 100 production_template ...

Configurations are bench.fanout.CONFIGURATIONS; run under valgrind, Prosody is
about fifty times slower, so 100 joins take a few minutes.
"""

import argparse
import asyncio
import json
import re
import ssl
import subprocess
import tempfile
from pathlib import Path

from bench import fanout
from bench.lean_client import LeanClient
from bench.servers import prosody

TOTALS = re.compile(r"^totals: (\d+)", re.M)


def _control(action: str, pid: int) -> None:
    subprocess.run(["callgrind_control", action, str(pid)], check=True, capture_output=True)


async def _logins_and_joins(config, pid: int, count: int) -> None:
    context = ssl.create_default_context(cafile=str(config.runtime_dir / "certs/localhost.crt"))
    clients = []

    async def one(index: int) -> LeanClient:
        client = LeanClient("127.0.0.1", config.c2s_port, "localhost", context)
        clients.append(client)
        await client.login(f"occupant{index}", fanout.PASSWORD)
        return client

    try:
        await one(0)  # warm-up, not counted
        _control("--instr=on", pid)
        first = await one(1)
        await first.join_room(fanout.ROOM, "occupant1")  # creates the room

        async def joined(index: int) -> None:
            client = await one(index)
            await client.join_room(fanout.ROOM, f"occupant{index}")

        await asyncio.gather(*(joined(i) for i in range(2, count + 1)))
        _control("--dump", pid)
    finally:
        for client in clients:
            client.close()


def count_joins(count: int, configuration: str = "production_template", timeout: float = 1800):
    """Instructions Prosody executes for `count` logins and joins into one room."""
    from portal.accounts.scram import derive_scram_sha1

    credentials = derive_scram_sha1(fanout.PASSWORD, 10000, salt=fanout.SALT)
    accounts = {f"occupant{i}": credentials for i in range(count + 1)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        wrapper = (
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out}", "lua5.4",
        )  # fmt: skip
        settings = fanout.CONFIGURATIONS[configuration]
        with prosody(
            Path(tmp), "x" * 48, accounts, wrapper=wrapper, start_timeout=300, **settings
        ) as (config, server):
            pid = server.process.pid
            asyncio.run(asyncio.wait_for(_logins_and_joins(config, pid, count), timeout))
            dump = Path(f"{out}.1")
            totals = TOTALS.search(dump.read_text()) if dump.exists() else None
            if totals is None:
                raise RuntimeError(f"callgrind wrote no dump at {dump}")
    instructions = int(totals.group(1))
    return {
        "configuration": configuration,
        "joins": count,
        "instructions": instructions,
        # The k-th to join gets k-1 presences and its own goes to k: N² in all.
        "instructions_per_presence": round(instructions / (count * count)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("joins", type=int)
    parser.add_argument("configurations", nargs="*", default=["production_template"])
    args = parser.parse_args()
    for name in args.configurations:
        print(json.dumps(count_joins(args.joins, name)), flush=True)


if __name__ == "__main__":
    main()
