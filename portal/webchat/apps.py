from django.apps import AppConfig


class WebchatConfig(AppConfig):
    name = "portal.webchat"
    verbose_name = "Web chat"
