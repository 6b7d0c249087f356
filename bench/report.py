"""The results tables in bench/README.md, rewritten from the latest run."""

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return lines


def _size_rows(sizes: dict) -> list[list]:
    rows = []
    for n, r in sizes.items():
        if "error" in r:
            rows.append([n, f"failed: {r['error']}", *[""] * 12])
            continue
        paced, closed, burst = r.get("paced", {}), r["closed_loop"], r["open_loop"]
        rows.append(
            [
                n,
                r["connect_join_s"],
                r.get("join_prosody_us_per_presence"),
                paced.get("p50_ms"),
                paced.get("p99_ms"),
                closed["deliveries_per_s"],
                closed["p99_ms"],
                burst["deliveries_per_s"],
                closed["lost"] + burst["lost"] + paced.get("lost", 0),
                closed["prosody_us_per_delivery"],
                closed["prosody_cpu_s"],
                closed["load_tool_cpu_s"],
                r["prosody_rss_mb"],
                r.get("lua_live_mb", ""),
            ]
        )
    return rows


SIZE_HEADER = [
    "occupants",
    "connect+join s",
    "join µs/presence",
    "paced p50 ms",
    "paced p99 ms",
    "saturated deliveries/s",
    "saturated p99 ms",
    "burst deliveries/s",
    "lost",
    "server µs/delivery",
    "server CPU s",
    "load tool CPU s",
    "server RSS MB",
    "Lua live MB",
]


def _ratio(ours, theirs):
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float) or not theirs:
        return None
    return round(ours / theirs, 2)


def reference_lines(fanout: dict) -> list[str]:
    """ejabberd at the same sizes, and ChatBoard/ejabberd ratios (below 1: ours is cheaper)."""
    reference = fanout.get("ejabberd")
    if not reference:
        return []
    lines = ["", f"ejabberd {reference['version']}, same room and load:", ""]
    lines += table(SIZE_HEADER, _size_rows(reference["sizes"]))
    rows = []
    for n, theirs in reference["sizes"].items():
        ours = fanout["sizes"].get(n, {})
        if "error" in theirs or "error" in ours or not ours:
            continue
        rows.append(
            [
                n,
                _ratio(
                    ours["closed_loop"]["prosody_us_per_delivery"],
                    theirs["closed_loop"]["prosody_us_per_delivery"],
                ),
                _ratio(
                    ours["open_loop"]["prosody_us_per_delivery"],
                    theirs["open_loop"]["prosody_us_per_delivery"],
                ),
                _ratio(ours["connect_join_s"], theirs["connect_join_s"]),
                _ratio(ours["join_prosody_cpu_s"], theirs["join_prosody_cpu_s"]),
                _ratio(ours.get("paced", {}).get("p99_ms"), theirs.get("paced", {}).get("p99_ms")),
                _ratio(ours["closed_loop"]["p99_ms"], theirs["closed_loop"]["p99_ms"]),
                _ratio(ours["prosody_rss_mb"], theirs["prosody_rss_mb"]),
            ]
        )
    lines += [
        "",
        "ChatBoard (Prosody) / ejabberd, below 1 is ChatBoard cheaper or faster:",
        "",
        *table(
            [
                "occupants",
                "CPU/delivery saturated",
                "CPU/delivery burst",
                "connect+join time",
                "join CPU",
                "paced p99",
                "saturated p99",
                "RSS",
            ],
            rows,
        ),
    ]
    return lines


def fanout_tables(fanout: dict) -> list[str]:
    lines = table(SIZE_HEADER, _size_rows(fanout["sizes"]))
    lines += reference_lines(fanout)
    configs = fanout.get("configurations")
    if configs:
        rows = []
        for name, r in configs.items():
            if name in ("occupants", "rounds"):
                continue
            rounds = r.get("rounds", [])
            rows.append(
                [
                    name,
                    r["closed_loop"]["deliveries_per_s"],
                    r["closed_loop"]["prosody_us_per_delivery"],
                    " / ".join(str(x["closed_us_per_delivery"]) for x in rounds),
                    " / ".join(str(x["burst_us_per_delivery"]) for x in rounds),
                    r["closed_loop"]["lost"] + r["open_loop"]["lost"],
                    " / ".join(str(x["connect_join_s"]) for x in rounds),
                    " / ".join(str(x["rss_mb"]) for x in rounds),
                ]
            )
        lines += [
            "",
            f"Prosody configurations compared, {configs['occupants']} occupants, "
            f"{configs.get('rounds', 1)} alternating round(s), every round shown "
            f"(production c2s rate limit: {fanout['production_c2s_rate']}):",
            "",
            *table(
                [
                    "configuration",
                    "saturated deliveries/s (median round)",
                    "Prosody µs/delivery (median round)",
                    "saturated µs/delivery, rounds",
                    "burst µs/delivery, rounds",
                    "lost",
                    "connect+join s, rounds",
                    "RSS MB, rounds",
                ],
                rows,
            ),
        ]
    return lines


def direct_table(direct: dict) -> list[str]:
    rows = [
        [
            name,
            r["messages_per_s"],
            r["p50_ms"],
            r["p99_ms"],
            r["lost"],
            r["prosody_cpu_s"],
            r["load_tool_cpu_s"],
        ]
        for name, r in (("closed loop", direct["closed_loop"]), ("burst", direct["open_loop"]))
    ]
    header = ["phase", "messages/s", "p50 ms", "p99 ms", "lost", "Prosody CPU s"]
    return table([*header, "load tool CPU s"], rows)


def login_storm_table(storm: dict) -> list[str]:
    names = ("chatboard_scram", "stock_scram", "chatboard_token_plain", "stock_password_plain")
    rows = [
        [
            name,
            storm[name]["logins_per_s"],
            storm[name]["p50_ms"],
            storm[name]["p99_ms"],
            storm[name]["failures"],
            storm[name]["prosody_cpu_s"],
            storm[name]["load_tool_cpu_s"],
        ]
        for name in names
    ]
    header = ["case", "logins/s", "p50 ms", "p99 ms", "failures", "Prosody CPU s"]
    return [
        *table([*header, "load tool CPU s"], rows),
        "",
        f"Ratio ChatBoard/stock, SCRAM: **{storm['ratio_scram']}**; token (PLAIN) against "
        f"stock PLAIN password: **{storm['ratio_token_vs_stock_plain']}** (goal: at least 0.8).",
    ]


def sync_table(sync: dict) -> list[str]:
    rows = []
    kinds = ("signup", "profile_change", "room_create", "room_edit", "room_membership")
    for kind in (k for k in kinds if k in sync):
        r = sync[kind]
        bridge = r["outbox_to_applied"]
        rows.append(
            [kind, r["operations"], r["p50_ms"], r["p99_ms"], r["failures"], bridge["p50_ms"]]
        )
    header = ["action", "operations", "p50 ms", "p99 ms", "timed out", "bridge share p50 ms"]
    return [*table(header, rows), *(["", f"Rooms: {sync['rooms']}."] if "rooms" in sync else [])]


def reconcile_table(reconcile: dict) -> list[str]:
    rows = [
        [
            r["users"],
            r["cold"]["reconcile_s"],
            round(r["cold"]["reconcile_s"] / r["users"] * 1000, 1),
            round(r["cold"]["prosody_cpu_s"] / r["users"] * 1000, 1),
            r["warm"]["reconcile_s"],
            round(r["warm"]["reconcile_s"] / r["users"] * 1000, 1),
            max(r["cold"]["bridge_peak_rss_mb"], r["warm"]["bridge_peak_rss_mb"]),
        ]
        for r in reconcile["users"]
    ]
    header = ["users", "cold s", "cold ms/user", "cold Prosody CPU ms/user", "in step s"]
    header.append("in step ms/user")
    lines = table([*header, "bridge peak RSS MB"], rows)
    if isinstance(reconcile["rooms"], str):
        return [*lines, "", f"Rooms: {reconcile['rooms']}."]
    rows = [
        [
            f"{r['rooms']} rooms ({r['people']} people)",
            r["cold"]["reconcile_s"],
            r["warm"]["reconcile_s"],
            max(r["cold"]["bridge_peak_rss_mb"], r["warm"]["bridge_peak_rss_mb"]),
        ]
        for r in reconcile["rooms"]
    ]
    return [*lines, "", *table(["rooms", "cold s", "in step s", "bridge peak RSS MB"], rows)]


def portal_table(portal: dict) -> list[str]:
    rows = [
        [name, r["requests"], r["p50_ms"], r["p95_ms"]]
        for name, r in portal.items()
        if isinstance(r, dict)
    ]
    lines = table(["page", "requests", "p50 ms", "p95 ms"], rows)
    if "rooms_page" in portal:
        lines += ["", f"Rooms page: {portal['rooms_page']}."]
    return lines


def room_sync_table(sync: dict) -> list[str]:
    latency = sync["latency"]
    rows = [["all", latency["p50_ms"], latency["p99_ms"]]]
    rows += [
        [kind, latency[kind]["p50_ms"], latency[kind]["p99_ms"]] for kind in ("create", "rename")
    ]
    lines = [
        f"{latency['operations']} portal operations, from the action to visible over XMPP:",
        "",
        *table(["action", "p50 ms", "p99 ms"], rows),
    ]
    reconcile_rows = [
        [r["rooms"], r["repair_s"], r["repair_ms_per_room"], r["steady_s"], r["steady_ms_per_room"]]
        for r in sync["reconcile"]
    ]
    growth = sync["reconcile_growth"]
    header = ["rooms", "full repair s", "ms/room", "steady reconcile s", "ms/room"]
    return [
        *lines,
        "",
        *table(header, reconcile_rows),
        "",
        f"{growth['rooms_ratio']:g}x the rooms: repair took **{growth['repair_ratio']}x**, "
        f"steady reconcile **{growth['steady_ratio']}x** (linear would be "
        f"{growth['rooms_ratio']:g}x). A full repair grows faster than linearly on Prosody's "
        "file storage: every room save rewrites mod_muc's list of persistent rooms (one file).",
    ]


def webchat_table(result: dict) -> list[str]:
    rows = ["| measure | runs | median ms | p95 ms |", "|---|---|---|---|"]
    for key, label in (
        ("page_load_to_connected", "page load to connected"),
        ("enter_to_other_browser_dom", "Enter to the other browser's DOM"),
    ):
        r = result[key]
        rows.append(f"| {label} | {r['runs']} | {r['median_ms']} | {r['p95_ms']} |")
    return rows


SECTIONS = [
    ("fanout", "Room fan-out", fanout_tables),
    ("direct", "1:1 messages", direct_table),
    ("login_storm", "Login storm", login_storm_table),
    ("sync_latency", "Sync latency, portal action to effect over XMPP", sync_table),
    ("reconcile", "Reconcile", reconcile_table),
    ("portal", "Portal pages", portal_table),
    ("room_sync", "Room sync (bench/room_sync.py)", room_sync_table),
    ("webchat", "Web chat in Chromium (bench/webchat_latency.py)", webchat_table),
]


def update_readme(results: dict) -> None:
    m = results["machine"]
    lines = [
        BEGIN,
        f"Latest run: {results['date']}, `{results['command']}`, {results['total_s']} s, "
        f"{m['cpus']} CPUs ({m['cpu_model']}, load average {m['load_average_at_start'][0]} "
        f"at start), Python {m['python']}, Prosody {m['prosody']} "
        f"(compared: {m.get('prosody_13', 'not fetched')}), "
        f"ejabberd {m.get('ejabberd') or 'not installed'}, slixmpp {m['slixmpp']}, "
        f"Django {m['django']}.",
    ]
    for key, title, render in SECTIONS:
        if key in results:
            detail = {
                "login_storm": f" ({results[key].get('concurrent_logins')} concurrent logins)",
                "direct": f" ({results[key].get('pairs')} pairs)",
                "portal": f" ({results[key].get('people')} people)",
                "sync_latency": f" ({results[key].get('rate_per_s')} actions started per s)",
            }.get(key, "")
            if "error" in results[key]:
                body = [f"Failed: `{results[key]['error']}`"]
            else:
                body = render(results[key])
            lines += ["", f"### {title}{detail}", "", *body]
    lines.append(END)
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    README.write_text(text[:start] + "\n".join(lines) + text[end:])
