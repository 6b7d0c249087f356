from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "portal.rooms"
    verbose_name = "Rooms"
