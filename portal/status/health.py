"""Reachability checks behind /healthz."""

import socket

from django.conf import settings
from django.db import connection


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def prosody_ok(timeout: float = 1.0) -> bool:
    """Prosody accepts client connections (the c2s port answers)."""
    try:
        with socket.create_connection(
            (settings.PROSODY_HOST, settings.PROSODY_C2S_PORT), timeout=timeout
        ):
            return True
    except OSError:
        return False
