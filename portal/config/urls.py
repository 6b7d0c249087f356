from django.contrib import admin
from django.urls import include, path

from portal.accounts.views import chat_credentials
from portal.status.views import healthz, home
from portal.webchat.views import logout as logout_and_clear_chat

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/logout/", logout_and_clear_chat),
    path("accounts/", include("allauth.urls")),
    path("chat/credentials", chat_credentials, name="chat-credentials"),
    path("chat/", include("portal.webchat.urls")),
    path("rooms/", include("portal.rooms.urls")),
    path("staff/people/", include("portal.accounts.urls")),
    path("", include("portal.invites.urls")),
    path("audit/", include("portal.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("portal.profiles.urls")),
]
