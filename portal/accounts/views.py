from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.accounts.tokens import mint_token


def _same_origin(request) -> bool:
    # Browsers send Sec-Fetch-Site on every request; only our own pages may ask.
    site = request.headers.get("Sec-Fetch-Site")
    return site in (None, "same-origin", "none")


@require_GET
@never_cache
def chat_credentials(request):
    """The web chat's login: a JID and a short-lived token in place of a password."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not_authenticated", "detail": "Log in first."}, status=401)
    if not _same_origin(request):
        return JsonResponse({"error": "cross_origin", "detail": "Same-origin only."}, status=403)
    jid = request.user.jid
    response = JsonResponse({"jid": jid, "password": mint_token(jid)})
    response["Cache-Control"] = "no-store"
    return response
