"""Print pyproject.toml's pinned dependencies (runtime and test) as requirements."""

import sys
import tomllib

with open(sys.argv[1], "rb") as file:
    project = tomllib.load(file)["project"]
for requirement in project["dependencies"]:
    print(requirement)
for group in project.get("optional-dependencies", {}).values():
    for requirement in group:
        print(requirement)
