from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "portal.profiles"
    verbose_name = "Profiles"

    def ready(self):
        from portal.profiles import receivers  # noqa: F401
