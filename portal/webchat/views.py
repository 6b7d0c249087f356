from allauth.account.views import LogoutView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal.webchat import converse_dist
from portal.webchat.converse_settings import converse_settings, page_settings
from portal.webchat.targets import InvalidTarget, target_from_query


def chat_texts() -> dict:
    """What the page's script says, in the person's language."""
    return {
        "portal_unreachable": _("The portal could not be reached to sign you in to the chat."),
        "not_logged_in": _("You are not logged in to the portal any more."),
        "credentials_failed": _("The portal could not sign you in to the chat (error %(status)s)."),
        "login_refused": _("The chat server refused the sign-in."),
        "server_unreachable": _("The chat server could not be reached."),
        "connection_lost": _("The connection to the chat server was lost."),
        "logged_out": _("You have logged out of the portal, so the chat was closed."),
        "private_messages": _("Private messages"),
    }


@login_required
def chat(request):
    try:
        target = target_from_query(request.GET)
    except InvalidTarget:
        target = None
        messages.warning(request, _("That chat link is not valid."))
    return render(
        request,
        "webchat/chat.html",
        {
            "converse_settings": converse_settings(request),
            "page_settings": page_settings(request, target),
            "chat_texts": chat_texts(),
            "converse_js": f"{converse_dist.static_dir()}/converse.min.js",
            "converse_css": f"{converse_dist.static_dir()}/converse.min.css",
        },
    )


class PortalLogoutView(LogoutView):
    """allauth's logout that also wipes the browser's copy of the chat.

    Converse keeps messages, rooms and contacts in IndexedDB and localStorage;
    Clear-Site-Data empties them (and sessionStorage) when the person logs out.
    """

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        response["Clear-Site-Data"] = '"storage"'
        return response


logout = PortalLogoutView.as_view()
