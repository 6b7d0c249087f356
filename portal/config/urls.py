from django.contrib import admin
from django.urls import include, path

from accounts.views import chat_credentials
from status.views import healthz, home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("chat/credentials", chat_credentials, name="chat-credentials"),
    path("rooms/", include("rooms.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
]
