"""The results table in bench/README.md, rewritten from the latest run."""

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def login_storm_table(results: dict) -> list[str]:
    storm = results["login_storm"]
    rows = [
        "| case | logins/s | p50 ms | p99 ms | failures | Prosody CPU s | load tool CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in (
        "chatboard_scram",
        "stock_scram",
        "chatboard_token_plain",
        "stock_password_plain",
    ):
        r = storm[name]
        rows.append(
            f"| {name} | {r['logins_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['failures']} "
            f"| {r['prosody_cpu_s']} | {r['load_tool_cpu_s']} |"
        )
    rows.append("")
    rows.append(
        f"Ratio ChatBoard/stock, SCRAM: **{storm['ratio_scram']}**; token (PLAIN) against "
        f"stock PLAIN password: **{storm['ratio_token_vs_stock_plain']}** (goal: at least 0.8)."
    )
    return rows


def room_sync_tables(results: dict) -> list[str]:
    sync = results.get("room_sync")
    if not sync:
        return []
    latency = sync["latency"]
    rows = [
        "",
        f"### Room sync ({latency['operations']} portal operations, then reconcile)"
        + (f", run {sync['date']}" if sync.get("date") else ""),
        "",
        "| portal action to visible over XMPP | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| all | {latency['p50_ms']} | {latency['p99_ms']} |",
    ]
    for kind in ("create", "rename"):
        rows.append(f"| {kind} | {latency[kind]['p50_ms']} | {latency[kind]['p99_ms']} |")
    rows += [
        "",
        "| rooms | full repair s | ms/room | steady reconcile s | ms/room |",
        "|---|---|---|---|---|",
    ]
    for r in sync["reconcile"]:
        rows.append(
            f"| {r['rooms']} | {r['repair_s']} | {r['repair_ms_per_room']} "
            f"| {r['steady_s']} | {r['steady_ms_per_room']} |"
        )
    growth = sync["reconcile_growth"]
    rows += [
        "",
        f"{growth['rooms_ratio']:g}x the rooms: repair took **{growth['repair_ratio']}x**, "
        f"steady reconcile **{growth['steady_ratio']}x** (linear would be "
        f"{growth['rooms_ratio']:g}x).",
        "A full repair grows faster than linearly on Prosody's file storage: every room",
        "save rewrites mod_muc's list of persistent rooms (one file), and past 100 live",
        "rooms each new one evicts and saves another. mod_storage_sql keeps that list as rows",
        "(not measured here).",
    ]
    return rows


def update_readme(results: dict) -> None:
    m = results["machine"]
    lines = [
        BEGIN,
        f"Latest run: {results['date']}, `{results['command']}`, {m['cpus']} CPUs "
        f"({m['cpu_model']}), Python {m['python']}, Prosody {m['prosody']}, "
        f"slixmpp {m['slixmpp']}.",
        "",
        f"### Login storm ({results['login_storm']['concurrent_logins']} concurrent logins)",
        "",
        *login_storm_table(results),
        *room_sync_tables(results),
        END,
    ]
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    README.write_text(text[:start] + "\n".join(lines) + text[end:])
