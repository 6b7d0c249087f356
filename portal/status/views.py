from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from portal.status import health


def home(request):
    return render(request, "status/home.html")


@never_cache
def healthz(request):
    checks = {"database": health.database_ok(), "prosody": health.prosody_ok()}
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
