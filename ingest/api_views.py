"""The integration API: other systems push daily metrics with a bearer token.

Answers are JSON, always, including every refusal: 401 without a valid token, 405 for another
method, 413 for a body or batch too large, 400 for bad JSON or bad rows (with an error per row,
and nothing written). Bad input never makes a 500.
"""

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiToken

from .api import upsert_metrics, validate_metric_rows
from .cells import MAX_STORED_ERRORS, ErrorList
from .tokens import authenticate_token
from .writes import AccountsGone

MAX_ROWS = 10_000


def error_response(status: int, error: str, detail: Any, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail, **extra}, status=status)


def invalid_rows(errors: ErrorList) -> JsonResponse:
    return error_response(
        400,
        "invalid_rows",
        _("Some rows are wrong; nothing was written."),
        error_count=errors.count,
        errors=[
            {"index": item["line"], "field": item["column"], "reason": item["reason"]}
            for item in errors.items[:MAX_STORED_ERRORS]
        ],
    )


def unauthorized(error: str, detail: str) -> JsonResponse:
    response = error_response(401, error, detail)
    challenge = 'Bearer realm="csworkbench"'
    if error == "invalid_token":
        challenge += ', error="invalid_token"'
    response["WWW-Authenticate"] = challenge
    return response


def bearer_token(request: HttpRequest) -> str | None:
    scheme, _space, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def authenticate(request: HttpRequest) -> ApiToken | JsonResponse:
    raw = bearer_token(request)
    if raw is None:
        return unauthorized(
            "missing_token", _("Send an API token in the header “Authorization: Bearer <token>”.")
        )
    token = authenticate_token(raw)
    if token is None:
        return unauthorized("invalid_token", _("The API token is unknown or has been revoked."))
    return token


def read_json(request: HttpRequest) -> Any:
    """The parsed body, or an error response (413 or 400)."""
    limit = settings.API_MAX_BODY_BYTES
    too_large = error_response(
        413, "body_too_large", _("The body is larger than %(limit)s bytes.") % {"limit": limit}
    )
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return too_large
    try:
        body = request.body
    except RequestDataTooBig:
        return too_large
    if len(body) > limit:
        return too_large
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, absurd nesting
        return error_response(
            400, "malformed_json", _("The body is not valid JSON: %(problem)s") % {"problem": exc}
        )


@csrf_exempt  # no cookies here: the bearer token is the credential
@login_not_required  # authenticated by its bearer token instead of a session
@never_cache
def metrics(request: HttpRequest) -> JsonResponse:
    """POST {"metrics": [{"account": "<external_id>", "date": "YYYY-MM-DD", "logins": 12, …}]}."""
    if request.method != "POST":
        response = error_response(405, "method_not_allowed", _("Use POST."))
        response["Allow"] = "POST"
        return response
    token = authenticate(request)
    if isinstance(token, JsonResponse):
        return token
    payload = read_json(request)
    if isinstance(payload, JsonResponse):
        return payload
    if (
        not isinstance(payload, dict)
        or set(payload) != {"metrics"}
        or not isinstance(payload["metrics"], list)
    ):
        return error_response(
            400,
            "invalid_shape",
            _("Send one JSON object with a single key, “metrics”, holding a list of rows."),
        )
    rows = payload["metrics"]
    if len(rows) > MAX_ROWS:
        return error_response(
            413,
            "too_many_rows",
            _("At most %(limit)s rows per request; this one has %(count)s.")
            % {"limit": MAX_ROWS, "count": len(rows)},
        )
    checked, errors = validate_metric_rows(rows)
    if errors:
        return invalid_rows(errors)
    try:
        result = upsert_metrics(rows=checked, source=f"api:{token.name}")
    except AccountsGone:
        # An account was deleted between the check and the write: nothing was written, and the
        # rows naming it are now errors like any unknown account's.
        errors = validate_metric_rows(rows)[1]
        if errors:
            return invalid_rows(errors)
        return error_response(
            400,
            "accounts_changed",
            _("An account named in this request was deleted while it was written; nothing was written."),
        )
    return JsonResponse(
        {
            "received": len(rows),
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
    )
