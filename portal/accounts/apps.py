from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    verbose_name = "Accounts"

    def ready(self):
        from portal.accounts import receivers  # noqa: F401
