from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from csworkbench.core.roles import home_url_for, roles_of


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_url_for(request.user))


@require_GET
def no_role(request: HttpRequest) -> HttpResponse:
    if roles_of(request.user):
        return redirect(home_url_for(request.user))
    return render(request, "no_role.html", status=403)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return f"error: {type(exc).__name__}"
    return "ok"


def _checks() -> dict:
    from csworkbench.core.outbox import broker_status, pending_summary

    checks = {"database": _database_status(), "broker": broker_status()}
    if checks["database"] == "ok":
        checks["outbox"] = pending_summary()
    return checks


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness, for load balancers: 200 while the app and its database answer (requests are
    served even with the broker down: queued work waits in the outbox), 503 otherwise. The
    broker's state is reported too: "degraded" when it is unreachable."""
    checks = _checks()
    if checks["database"] != "ok":
        return JsonResponse({"status": "error", **checks}, status=503)
    status = "degraded" if checks["broker"] == "unreachable" else "ok"
    return JsonResponse({"status": status, **checks})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness, for monitoring and deploys: 200 only when the database and the broker both
    answer (or tasks run in-process, with no broker configured), 503 otherwise."""
    checks = _checks()
    ready = checks["database"] == "ok" and checks["broker"] in ("ok", "in-process")
    return JsonResponse({"status": "ok" if ready else "error", **checks}, status=200 if ready else 503)


# The language switcher must work on the login page too. Choosing a language reveals nothing
# and changes only a cookie, so it is the one action (not a page) open without a login.
set_language = login_not_required(require_POST(django_set_language))
