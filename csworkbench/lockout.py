"""Login throttling with django-axes: the backend that checks the lockout and the page a
locked-out visitor sees (the login page itself, with the reason, instead of axes' bare text)."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext


class ThrottledLoginBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins made through a request (the login page, the admin).

    `authenticate()` called without a request (a management command, the shell) has no client
    to throttle: axes would raise, so those calls go straight to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request: HttpRequest) -> str:
    """The address a login attempt came from. Behind TRUSTED_PROXY_COUNT proxies, it is the
    entry the outermost proxy appended to X-Forwarded-For; anything left of it is what the
    client claimed and is ignored, so a forged header cannot dodge the throttle."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page again, status 429, saying why and for how long, never which part failed."""
    minutes = settings.AXES_COOLOFF_MINUTES
    messages.error(
        request,
        ngettext(
            "Too many failed attempts to log in. Try again in %(minutes)s minute, "
            "or ask an administrator to unlock your account.",
            "Too many failed attempts to log in. Try again in %(minutes)s minutes, "
            "or ask an administrator to unlock your account.",
            minutes,
        )
        % {"minutes": minutes},
    )
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
