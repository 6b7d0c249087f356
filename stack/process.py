"""A child process of the stack, the tests or the benchmarks: started with its own
log, waited on until it is ready, stopped (SIGTERM, then SIGKILL after a grace)
with every process it started.

Each child runs in a session of its own, so signals meant for it (and a
terminal's Ctrl-C meant for us) reach only whom they should, and stopping it
stops its whole process group.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# A readiness check: called with the process, truthy once it is ready.
Check = Callable[["ManagedProcess"], object]


class ProcessFailed(RuntimeError):
    """A process exited or did not become ready; the message ends with its log."""


def port_open(port: int, host: str = "127.0.0.1") -> Check:
    """Ready once something accepts connections on host:port."""

    def check(_process) -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    check.__doc__ = f"{host}:{port} accepts connections"
    return check


def log_line(text: str) -> Check:
    """Ready once `text` appears in what this run of the process logged."""

    def check(process) -> bool:
        return text in process.output()

    check.__doc__ = f"{text!r} in the log"
    return check


class ManagedProcess:
    """`argv` run with `env` in `cwd`, its output appended to `log_path`.

    `echo(line)`, when given, also receives each output line as it comes (the
    foreground stack prefixes them); with `inherit_output` the output goes where
    ours goes (a container's log). `ready` checks must all pass before start()
    returns. Use it as a context manager, or call stop().
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
        ready: list[Check] = (),
        ready_timeout: float = 30,
        grace: float = 10,
        echo: Callable[[str], None] | None = None,
        inherit_output: bool = False,
        **popen,
    ):
        if log_path is None and echo is None and not inherit_output:
            raise ValueError(f"{name}: a log file, an echo, or our own output")
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.log_path = Path(log_path) if log_path is not None else None
        self.env = env
        self.cwd = cwd
        self.ready = list(ready)
        self.ready_timeout = ready_timeout
        self.grace = grace
        self.echo = echo
        self.inherit_output = inherit_output
        self.popen_options = popen
        self.popen: subprocess.Popen | None = None
        self._log_offset = 0
        self._pump: threading.Thread | None = None

    # ---------- lifecycle ----------

    def start(self, wait: bool = True) -> "ManagedProcess":
        """Start it; with `wait`, return once its readiness checks pass (else call
        wait_ready() later, e.g. after starting others alongside)."""
        if self.running():
            raise RuntimeError(f"{self.name} is already running")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        piped = self.echo is not None
        to_file = not piped and not self.inherit_output
        log = open(self.log_path, "ab") if to_file else None  # noqa: SIM115 - closed below
        try:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else log,
                stderr=None if self.inherit_output else subprocess.STDOUT,
                start_new_session=True,
                **self.popen_options,
            )
        finally:
            if log is not None:
                log.close()  # the child has its own descriptor
        if piped:
            self._pump = threading.Thread(target=self._copy_output, daemon=True)
            self._pump.start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, *checks: Check, timeout: float | None = None) -> None:
        """Poll the checks (by default its own) until all pass. When it exits or
        time runs out first, it is stopped and ProcessFailed raised."""
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pending = list(checks or self.ready)
        while pending:
            pending = [check for check in pending if not check(self)]
            if not pending:
                return
            if not self.running():
                raise self.failure(f"exited with code {self.returncode} before it was ready")
            if time.monotonic() > deadline:
                waiting = "; ".join(check.__doc__ or repr(check) for check in pending)
                self.stop()
                raise self.failure(f"not ready after {timeout} s (waiting for: {waiting})")
            time.sleep(0.05)

    def stop(self, grace: float | None = None) -> int | None:
        """SIGTERM to the process group; SIGKILL to it after `grace` seconds."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(self.grace if grace is None else grace)
            # Also what it left behind in its group (its id is not reused yet:
            # only now have we reaped it).
            self._signal_group(signal.SIGKILL)
            self.popen.wait()
        if self._pump is not None:
            self._pump.join(1)
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL to the whole group at once: a crash, as tests of faults want."""
        if self.popen is not None and self.popen.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.popen.wait()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def __enter__(self) -> "ManagedProcess":
        return self.start() if self.popen is None else self

    def __exit__(self, *_exc) -> None:
        self.stop()

    # ---------- state ----------

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def send_signal(self, signum: int) -> None:
        """To the process itself (not its group): what a supervisor would send."""
        self.popen.send_signal(signum)

    # ---------- output ----------

    def log_text(self) -> str:
        """Everything in the log file, earlier runs included."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def output(self) -> str:
        """What this run (since the last start) logged."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def failure(self, what: str, tail: int = 3000) -> ProcessFailed:
        """An error naming the process, with the end of its log (for test failures)."""
        if self.log_path is None:
            return ProcessFailed(f"{self.name} {what}")
        return ProcessFailed(f"{self.name} {what}\n--- {self.log_path}:\n{self.log_text()[-tail:]}")

    def _copy_output(self) -> None:
        log = open(self.log_path, "a") if self.log_path is not None else None  # noqa: SIM115
        try:
            for raw in self.popen.stdout:
                line = raw.decode(errors="replace")
                if log is not None:
                    log.write(line)
                    log.flush()
                try:
                    self.echo(line)
                except Exception as error:  # a broken terminal must not stop the child
                    print(f"{self.name}: output lost: {error}", file=sys.stderr)
        finally:
            if log is not None:
                log.close()
