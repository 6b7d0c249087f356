from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "portal.outbox"
    verbose_name = "Sync to Prosody"
