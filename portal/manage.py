#!/usr/bin/env python3
"""Django's management commands for the portal: `python -m portal.manage COMMAND`,
run from the repository root (the portal is the package `portal`)."""

import os
import sys

if __name__ == "__main__":
    if not __package__:
        sys.exit("Run the portal's commands from the repository root: python -m portal.manage")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
