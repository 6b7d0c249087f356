"""Run Prosody, the portal and the bridge in the foreground with prefixed logs.

Ctrl-C (or SIGTERM) stops all three. If one exits on its own, that is reported
and the others are stopped too, so a broken stack never looks healthy.
"""

import signal
import sys
import threading
import time
from dataclasses import dataclass

from stack.process import ManagedProcess

COLOURS = {"prosody": "\033[35m", "portal": "\033[36m", "bridge": "\033[33m"}
RESET = "\033[0m"


@dataclass
class Service:
    name: str
    argv: list[str]
    process: ManagedProcess | None = None

    def start(self, env: dict[str, str], cwd: str) -> None:
        # A session of its own (ManagedProcess): the terminal's Ctrl-C reaches
        # us only, and we stop the children in order.
        self.process = ManagedProcess(
            self.name, self.argv, env=env, cwd=cwd, echo=self._print, grace=5
        ).start()

    def _print(self, line: str) -> None:
        colour = COLOURS.get(self.name, "") if sys.stdout.isatty() else ""
        reset = RESET if colour else ""
        sys.stdout.write(f"{colour}{self.name:>7} |{reset} {line}")
        sys.stdout.flush()

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def stop(self, timeout: float) -> None:
        if self.running():
            self.process.stop(timeout)


class Supervisor:
    def __init__(self, services: list[Service], env: dict[str, str], cwd: str):
        self.services = services
        self.env = env
        self.cwd = cwd
        self._stop = threading.Event()

    def start(self, name: str) -> Service:
        service = next(s for s in self.services if s.name == name)
        service.start(self.env, self.cwd)
        return service

    def request_stop(self, *_args) -> None:
        self._stop.set()

    def watch(self) -> int:
        """Block until asked to stop or until a service dies; return an exit code."""
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        code = 0
        while not self._stop.wait(0.2):
            dead = [s for s in self.services if s.process and not s.running()]
            if dead:
                for service in dead:
                    print(f"!! {service.name} exited with code {service.process.returncode}")
                code = 1
                break
        self.stop_all()
        return code

    def stop_all(self, timeout: float = 5) -> None:
        started = time.monotonic()
        # Bridge and portal first, so they do not log Prosody's disappearance.
        for service in reversed(self.services):
            service.stop(timeout)
        print(f"stopped in {time.monotonic() - started:.1f} s")
