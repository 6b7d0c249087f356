"""Login storm: N concurrent XMPP logins, ChatBoard's auth against stock
internal_hashed, by password (SCRAM-SHA-1) and by web token (PLAIN), in one run.

The load tool (bench/lean_client.py) logs in over STARTTLS, verifying the
certificate as a real client does, and binds a resource. Its own CPU time is
reported beside Prosody's, so a result limited by the load tool shows as such.
"""

import asyncio
import ssl
import tempfile
import time
from pathlib import Path

from bench.lean_client import LeanClient, LoginFailed
from bench.servers import process_cpu_seconds, process_rss_mb, prosody

TOKEN_SECRET = "b" * 48
ROUNDS = 3


async def storm(config, users: dict[str, str], mech: str, concurrency: int) -> dict:
    context = ssl.create_default_context(cafile=str(config.runtime_dir / "certs/localhost.crt"))
    gate = asyncio.Semaphore(concurrency)
    latencies, failures = [], 0

    async def one(username, secret):
        nonlocal failures
        async with gate:
            started = time.perf_counter()
            client = LeanClient("127.0.0.1", config.c2s_port, "localhost", context)
            try:
                await asyncio.wait_for(client.login(username, secret, mech), 60)
                latencies.append(time.perf_counter() - started)
            except (LoginFailed, OSError, TimeoutError):
                failures += 1
            finally:
                client.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(u, s) for u, s in users.items()))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "logins": len(latencies),
        "failures": failures,
        "seconds": round(elapsed, 3),
        "logins_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
    }


def run_case(auth: str, mech: str, by_token: bool, count: int, accounts, passwords) -> dict:
    from portal.accounts.tokens import mint_token

    with (
        tempfile.TemporaryDirectory() as tmp,
        prosody(Path(tmp), TOKEN_SECRET, accounts, authentication=auth) as (config, server),
    ):
        if by_token:
            secrets_for = {u: mint_token(f"{u}@localhost") for u in passwords}
        else:
            secrets_for = passwords
        pid = server.process.pid
        cpu_before, tool_before = process_cpu_seconds(pid), time.process_time()
        result = asyncio.run(storm(config, secrets_for, mech, concurrency=count))
        result["prosody_cpu_s"] = round(process_cpu_seconds(pid) - cpu_before, 2)
        result["load_tool_cpu_s"] = round(time.process_time() - tool_before, 2)
        result["prosody_rss_mb"] = round(process_rss_mb(pid), 1)
    return result


def run(count: int, round_count: int = ROUNDS) -> dict:
    from django.conf import settings

    from portal.accounts.scram import derive_scram_sha1

    settings.XMPP_TOKEN_SECRET = TOKEN_SECRET  # tokens minted for this run's servers
    passwords = {f"storm{i}": f"password-{i}" for i in range(count)}
    accounts = {u: derive_scram_sha1(p, 10000) for u, p in passwords.items()}
    cases = {
        "chatboard_scram": ("chatboard", "SCRAM-SHA-1", False),
        "stock_scram": ("internal_hashed", "SCRAM-SHA-1", False),
        "chatboard_token_plain": ("chatboard", "PLAIN", True),
        "stock_password_plain": ("internal_hashed", "PLAIN", False),
    }
    # Rounds alternate the cases so that a noisy moment on a shared machine hits
    # all of them alike; each case reports its median round.
    rounds = {name: [] for name in cases}
    for _ in range(round_count):
        for name, (auth, mech, token) in cases.items():
            rounds[name].append(run_case(auth, mech, token, count, accounts, passwords))
    results = {}
    for name, runs in rounds.items():
        runs.sort(key=lambda r: r["logins_per_s"])
        results[name] = {**runs[len(runs) // 2], "rounds": [r["logins_per_s"] for r in runs]}
    results["ratio_scram"] = round(
        results["chatboard_scram"]["logins_per_s"] / results["stock_scram"]["logins_per_s"], 2
    )
    results["ratio_token_vs_stock_plain"] = round(
        results["chatboard_token_plain"]["logins_per_s"]
        / results["stock_password_plain"]["logins_per_s"],
        2,
    )
    return results
