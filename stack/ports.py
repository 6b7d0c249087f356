"""Free TCP ports for servers started by the tests, the benchmarks and `stack`.

A port the kernel hands out for `bind(("127.0.0.1", 0))` is free at that
moment only: once that socket is closed, another test run or a benchmark on the
same machine may be handed the same number before our server binds it. So a
candidate becomes ours only with an exclusive lock on a file named after it, in
a directory every process on the machine shares; the lock is held for as long
as the reservation lives (until `release_port`, or until this process exits,
when the system drops it). Everything here that picks a port goes through
`free_port`, so two holders of one port cannot exist.
"""

import contextlib
import fcntl
import os
import socket
import tempfile
import threading
from pathlib import Path

LOCK_DIR = Path(tempfile.gettempdir()) / "chatboard-ports"
ATTEMPTS = 200

_held: dict[str, object] = {}  # lock name -> its open lock file
_lock = threading.Lock()


def _try_lock(name: str) -> bool:
    """Take the machine-wide lock `name`; False when someone (maybe us) holds it."""
    if not LOCK_DIR.exists():
        LOCK_DIR.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):  # shared like /tmp: every user's runs lock here
            LOCK_DIR.chmod(0o1777)
    path = LOCK_DIR / f"{name}.lock"
    with _lock:
        if name in _held:
            return False
        handle = open(path, "a")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        _held[name] = handle
        with contextlib.suppress(OSError):  # not ours: its owner made it so already
            os.chmod(path, 0o666)  # other users' runs lock it too
        return True


def _unlock(name: str) -> None:
    with _lock:
        handle = _held.pop(name, None)
    if handle is not None:
        handle.close()  # closing the file drops the lock


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on and no other holder of these locks has; it stays
    reserved until `release_port(port)` or the end of this process."""
    for _ in range(ATTEMPTS):
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if not _try_lock(f"port-{port}"):
            continue
        # Someone who does not take these locks may have bound it meanwhile.
        if _bindable(host, port):
            return port
        _unlock(f"port-{port}")
    raise RuntimeError(f"no free port after {ATTEMPTS} attempts")


def release_port(port: int) -> None:
    """Give a reserved port back (its server has stopped for good)."""
    _unlock(f"port-{port}")


def free_loopback_address(port: int, attempts: int = ATTEMPTS) -> str:
    """An address in 127.0.0.0/8 on which `port` is free, reserved like a port:
    for servers that must listen on a fixed port (s2s without SRV records)."""
    import random

    for _ in range(attempts):
        # A pool of a few thousand (127.77.0.1 to 127.77.15.254): enough for any
        # number of runs side by side, and as many lock files at most.
        address = f"127.77.{random.randint(0, 15)}.{random.randint(1, 254)}"
        name = f"address-{address}-{port}"
        if not _try_lock(name):
            continue
        if _bindable(address, port):
            return address
        _unlock(name)
    raise RuntimeError(f"no loopback address with port {port} free")


def release_loopback_address(address: str, port: int) -> None:
    _unlock(f"address-{address}-{port}")
