"""`make bench` (quick) or `make bench FULL=1`: run the benchmarks, write
bench/results/<date>.json and the table in bench/README.md."""

import argparse
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

from bench import login_storm, report, room_sync

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    def command(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "unavailable"

    import slixmpp

    prosody_version = command("dpkg-query", "-W", "-f=${Version}", "prosody")
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
        "prosody": prosody_version,
        "slixmpp": slixmpp.__version__,
        "kernel": platform.release(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="the large sizes")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    size = 1000 if args.full else 200
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "make bench" + (" FULL=1" if args.full else ""),
        "machine": machine(),
        "login_storm": {"concurrent_logins": size, **login_storm.run(size)},
        "room_sync": room_sync.run(operations=200, sizes=(100, 1000)),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{results['date'][:10]}{'-full' if args.full else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    report.update_readme(results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
