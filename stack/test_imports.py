"""What the tests and the benchmarks share lives in stack/: the tests do not import
the benchmarks (nor do the portal and stack), and the benchmarks do not import
the tests, so neither can break the other by changing a helper."""

import ast
from pathlib import Path

import pytest

from stack.environment import REPO_DIR

FORBIDDEN = {
    "tests": "bench",
    "portal": "bench",
    "stack": "bench",
    "bridge": "bench",
    "bench": "tests",
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def crossings(directory: str, forbidden: str) -> list[str]:
    found = []
    for path in sorted((REPO_DIR / directory).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for line, module in imported_modules(path):
            if module == forbidden or module.startswith(forbidden + "."):
                found.append(f"{path.relative_to(REPO_DIR)}:{line}: imports {module}")
    return found


@pytest.mark.parametrize(("directory", "forbidden"), FORBIDDEN.items())
def test_tests_and_benchmarks_do_not_import_each_other(directory, forbidden):
    assert crossings(directory, forbidden) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "example.py"
    benchmarks, tests = "bench", "tests"  # spelled out, this file would match a grep for them
    module.write_text(f"def f():\n    from {benchmarks}.servers import x\n    import {tests}.a")
    names = [name for _line, name in imported_modules(module)]
    assert names == [f"{benchmarks}.servers", f"{tests}.a"]
