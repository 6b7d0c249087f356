from django.urls import path

from portal.webchat.views import chat

urlpatterns = [
    path("", chat, name="chat"),
]
