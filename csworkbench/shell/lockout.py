"""Login throttling with django-axes: the backend that checks the lockout, the handler that
adds a per-address limit to axes' per-(username, address) one, and the page a locked-out
visitor sees (the login page itself, with the reason, instead of axes' bare text)."""

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
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


class PairAndAddressHandler(AxesDatabaseHandler):
    """Axes' database handler with a second, higher limit per address.

    Axes compares one failure limit with the worst of its lockout parameters, so listing
    "ip_address" there would lock an office out after AXES_FAILURE_LIMIT (5) failures, and a
    successful login would wipe the address's whole count. Here the pair (username, address)
    keeps AXES_FAILURE_LIMIT and its reset on success, and the address alone is locked after
    AXES_IP_FAILURE_LIMIT failures over all usernames within the cool-off: one address can no
    longer try a password against many usernames.
    """

    def address_failures(self, request: HttpRequest) -> int:
        attempts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def is_address_locked(self, request: HttpRequest) -> bool:
        limit = settings.AXES_IP_FAILURE_LIMIT
        return bool(settings.AXES_LOCK_OUT_AT_FAILURE and limit and self.address_failures(request) >= limit)

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.is_address_locked(request)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False) or self.is_whitelisted(request):
            return
        if self.is_address_locked(request):
            # The failure that reaches the limit gets the lockout page, as with the pair limit.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send("axes", request=request, username=None, ip_address=request.axes_ip_address)


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
