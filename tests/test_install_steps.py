"""The project installs what it runs on: every Debian package a running Prosody loads
is named by an install step (the Makefile), so a fresh machine gets it too.

A package installed by hand on a developer's machine would otherwise pass every
test there and fail elsewhere (s2s without lua-unbound cannot resolve hosts).
"""

import re
import subprocess
from pathlib import Path

from stack.environment import REPO_DIR

MAKEFILE = REPO_DIR / "Makefile"
BASE_PRIORITIES = {"required", "important"}


def named_by_install_steps() -> set[str]:
    """The packages the Makefile's variables and install-deb-packages calls name."""
    text = MAKEFILE.read_text()
    names = set()
    for _variable, packages in re.findall(r"^(DEB_\w+)\s*:?=(.*)$", text, re.MULTILINE):
        names.update(packages.split())
    for packages in re.findall(r"scripts/install-deb-packages ([a-z0-9][^$\n|;&]*)", text):
        names.update(packages.split())
    return names


def installed_packages() -> dict[str, dict[str, str]]:
    """package -> its dpkg fields, for every package installed here."""
    fields = ("Package", "Priority", "Depends", "Pre-Depends", "Provides")
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "\t".join(f"${{{name}}}" for name in fields) + "\n"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = (dict(zip(fields, line.split("\t"), strict=True)) for line in result.stdout.splitlines())
    return {row["Package"]: row for row in rows}


def _names(relation: str) -> list[str]:
    """The package names in a dpkg relation field ("a (>= 1) | b, c:any")."""
    return [
        re.split(r"[\s:(]", item.strip())[0] for item in re.split(r"[,|]", relation) if item.strip()
    ]


def with_dependencies(packages: set[str]) -> set[str]:
    """`packages` and everything installed that they depend on, through virtual
    packages (lua5.4-socket is provided by lua-socket) and alternatives."""
    installed = installed_packages()
    providers: dict[str, set[str]] = {}
    for name, row in installed.items():
        for virtual in _names(row["Provides"]):
            providers.setdefault(virtual, set()).add(name)
    closure, todo = set(), list(packages)
    while todo:
        name = todo.pop()
        for package in {name, *providers.get(name, ())} & installed.keys() - closure:
            closure.add(package)
            row = installed[package]
            todo.extend(_names(row["Depends"]) + _names(row["Pre-Depends"]))
    return closure


def base_system() -> set[str]:
    """What every Debian system has (dpkg's "required" and "important" priorities)."""
    rows = installed_packages().values()
    return {row["Package"] for row in rows if row["Priority"] in BASE_PRIORITIES}


def loaded_files(pid: int) -> set[str]:
    """The files mapped into the process: its executable and shared libraries (Lua C
    modules such as lua-unbound's included)."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    files = {line.split(maxsplit=5)[5] for line in maps if len(line.split(maxsplit=5)) == 6}
    return {path for path in files if path.startswith("/") and Path(path).is_file()}


def owning_packages(paths: set[str]) -> dict[str, str]:
    """package -> one of its files, for the paths a Debian package owns."""
    result = subprocess.run(
        ["dpkg-query", "-S", *sorted(paths)], capture_output=True, text=True
    )  # files no package owns (the interpreter's own copies) are reported on stderr
    owners = {}
    for line in result.stdout.splitlines():
        packages, _, path = line.partition(": ")
        for package in packages.split(", "):
            owners.setdefault(package.split(":")[0], path)
    return owners


def test_every_debian_package_prosody_loads_is_installed_by_the_makefile(xmpp_server):
    loaded = owning_packages(loaded_files(xmpp_server.process.pid))
    assert "prosody" in loaded and "lua-unbound" in loaded, sorted(loaded)
    covered = with_dependencies(named_by_install_steps()) | base_system()
    missing = {package: path for package, path in loaded.items() if package not in covered}
    assert not missing, (
        "Prosody loads Debian packages no install step names; add them to the "
        f"Makefile's DEB_PACKAGES: {missing}"
    )


def test_prosody_finds_every_library_it_looks_for(xmpp_server):
    # Prosody says so when an optional library is missing ("Prosody was unable to
    # find lua-unbound"), then carries on with less (the old resolver ignores the
    # hosts file federation tests rely on).
    notices = [line for line in xmpp_server.log_text().splitlines() if "unable to find" in line]
    assert not notices, notices
