from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from accounts.roles import home_url_for, roles_of


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_url_for(request.user))


@require_GET
def no_role(request: HttpRequest) -> HttpResponse:
    if roles_of(request.user):
        return redirect(home_url_for(request.user))
    return render(request, "no_role.html", status=403)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the app and its database answer; 503 otherwise. For load balancers and probes."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


# The language switcher must work on the login page too. Choosing a language reveals nothing
# and changes only a cookie, so it is the one action (not a page) open without a login.
set_language = login_not_required(require_POST(django_set_language))
