"""Print pyproject.toml's pinned dependencies (runtime and test) as requirements;
with --runtime, only what the running services need (the container image)."""

import sys
import tomllib

runtime_only = "--runtime" in sys.argv[1:]
path = [arg for arg in sys.argv[1:] if arg != "--runtime"][0]
with open(path, "rb") as file:
    project = tomllib.load(file)["project"]
for requirement in project["dependencies"]:
    print(requirement)
for group in [] if runtime_only else project.get("optional-dependencies", {}).values():
    for requirement in group:
        print(requirement)
