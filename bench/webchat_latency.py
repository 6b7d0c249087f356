"""Web chat: page load to connected, and Enter in one browser to the message in
the other browser's DOM, over N runs, against the whole stack as `make run`
starts it (Prosody, the portal, the bridge), driven in Debian's Chromium."""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stack.chromium import CHROMIUM, CHROMIUM_ARGS
from stack.environment import LISTENING_PORTS, REPO_DIR
from stack.ports import free_port, release_port
from stack.process import ManagedProcess, log_line

PASSWORD = "bench password 123"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "runs": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
    }


class Stack:
    """`python -m stack run` on free ports with a throwaway runtime directory."""

    def __init__(self, runtime_dir: Path):
        self.ports = {name: free_port() for name in LISTENING_PORTS}
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DJANGO_SECRET_KEY", "XMPP_TOKEN_SECRET"}
            and k not in {"BRIDGE_COMPONENT_SECRET", "CHATBOARD_RUNTIME_DIR"}
        }
        self.env.update({name: str(port) for name, port in self.ports.items()})
        self.env["CHATBOARD_RUNTIME_DIR"] = str(runtime_dir)
        # One person sends 20 messages as fast as they arrive: above the per-room
        # anti-flood cap, which is not what this measures.
        self.env["PROSODY_MUC_MESSAGE_RATE"] = "0"
        self.log = runtime_dir.parent / "stack.log"
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.ports['PORTAL_PORT']}"

    def __enter__(self):
        self.process = ManagedProcess(
            "stack",
            [sys.executable, "-m", "stack", "run"],
            log_path=self.log,
            env=self.env,
            cwd=REPO_DIR,
            ready=[log_line("ChatBoard is ready")],
            ready_timeout=60,
            grace=20,
        ).start()
        return self

    def create_users(self, *usernames: str) -> None:
        code = "from portal.accounts.models import User\n" + "".join(
            f"User.objects.create_user({name!r}, password={PASSWORD!r})\n" for name in usernames
        )
        python = sys.executable
        subprocess.run(
            [
                python,
                "-m",
                "stack",
                "exec",
                "--",
                python,
                "-m",
                "portal.manage",
                "shell",
                "-c",
                code,
            ],
            cwd=REPO_DIR,
            env=self.env,
            check=True,
        )

    def __exit__(self, *exc):
        # What Ctrl-C does: the supervisor stops its services, then itself.
        self.process.send_signal(signal.SIGINT)
        self.process.stop()
        for port in self.ports.values():
            release_port(port)


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def run(runs: int = 20) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp) / "var") as stack:
        stack.create_users("ann", "ben")
        room = f"bench@conference.{stack.env.get('CHATBOARD_DOMAIN', 'localhost')}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ann_ctx, ben_ctx = browser.new_context(), browser.new_context()
            time.sleep(1)  # the bridge provisions both accounts
            ann, ben = ann_ctx.new_page(), ben_ctx.new_page()
            log_in(ann, stack.url, "ann")
            log_in(ben, stack.url, "ben")

            loads = []
            for _ in range(runs):
                started = time.perf_counter()
                ann.goto(f"{stack.url}/chat/?room=bench")
                ann.locator("converse-user-profile .username").wait_for()
                loads.append(time.perf_counter() - started)
            ann.locator(f'converse-muc[jid="{room}"] textarea.chat-textarea').wait_for()
            ben.goto(f"{stack.url}/chat/?room=bench")
            ben_room = ben.locator(f'converse-muc[jid="{room}"]')
            ben_room.locator("textarea.chat-textarea").wait_for()

            deliveries = []
            textarea = ann.locator(f'converse-muc[jid="{room}"] textarea.chat-textarea')
            for number in range(runs):
                text = f"bench message {number} {time.time_ns()}"
                textarea.fill(text)
                started = time.perf_counter()
                textarea.press("Enter")
                ben_room.locator(".chat-msg__text", has_text=text).wait_for()
                deliveries.append(time.perf_counter() - started)
            browser.close()
    return {
        "page_load_to_connected": summary(loads),
        "enter_to_other_browser_dom": summary(deliveries),
    }


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
