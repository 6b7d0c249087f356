from django.contrib import admin
from django.urls import include, path

from accounts.views import chat_credentials
from status.views import healthz, home
from webchat.views import logout as logout_and_clear_chat

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/logout/", logout_and_clear_chat),
    path("accounts/", include("allauth.urls")),
    path("chat/credentials", chat_credentials, name="chat-credentials"),
    path("chat/", include("webchat.urls")),
    path("rooms/", include("rooms.urls")),
    path("staff/people/", include("accounts.urls")),
    path("", include("invites.urls")),
    path("audit/", include("audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
]
