"""Production settings, security headers, cookies, login throttling and CSRF.

The deploy check and the production values run in a subprocess with production environment
variables, because settings.py reads the environment once, at import.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.db.models import fields as model_fields
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Touchpoint
from ingest.tokens import create_api_token
from tests.conftest import PASSWORD
from tests.factories import AccountFactory
from tests.form_tokens import tokens_in

ROOT = Path(__file__).resolve().parent.parent


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AXES_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="cs.example.com",
        CSRF_TRUSTED_ORIGINS="https://cs.example.com",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/csworkbench-deploy-check.sqlite3"),
        DJANGO_SETTINGS_MODULE="csworkbench.settings",
    )
    env.update(extra)
    return env


def test_the_deploy_check_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output and "?:" not in output, output


@pytest.mark.parametrize("clock", ["09:00:03", "18:00:00"])
def test_no_model_field_warns_at_the_times_of_its_defaults(clock, monkeypatch):
    # Django warns about a fixed date or time default within ten seconds of it (fields.W161):
    # a working day's 09:00 and 18:00 failed the deploy check above at those moments.
    moment = datetime.combine(date.today(), time.fromisoformat(clock))
    monkeypatch.setattr(model_fields, "_get_naive_now", lambda: moment)
    warnings = [
        message
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if hasattr(field, "_check_fix_default_value")
        for message in field._check_fix_default_value()
    ]
    assert warnings == []


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


PRODUCTION_VALUES = """
import json
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "SESSION_COOKIE_AGE",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER", "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY", "SECURE_CONTENT_TYPE_NOSNIFF", "AXES_ENABLED",
    "AXES_FAILURE_LIMIT", "AXES_COOLOFF_MINUTES", "AXES_IP_FAILURE_LIMIT", "AXES_HANDLER",
]}))
"""


def production_values(**extra: str) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", "import django; django.setup()\n" + PRODUCTION_VALUES],
        cwd=ROOT,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_are_the_secure_ones():
    values = production_values()
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["CSRF_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert 0 < values["SESSION_COOKIE_AGE"] <= 12 * 60 * 60
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["AXES_ENABLED"] is True
    assert (values["AXES_FAILURE_LIMIT"], values["AXES_COOLOFF_MINUTES"]) == (5, 15)
    assert values["AXES_IP_FAILURE_LIMIT"] == 30
    assert values["AXES_HANDLER"] == "csworkbench.shell.lockout.PairAndAddressHandler"


def test_the_loopback_switch_turns_off_only_the_https_redirect():
    values = production_values(SECURE_SSL_REDIRECT="0")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["SECURE_HSTS_SECONDS"] >= 31536000


# --- headers and cookies, in-process with the production values that matter ---------------------

PRODUCTION_LIKE = {
    "DEBUG": False,
    "SECURE_SSL_REDIRECT": False,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


def csp_directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


@override_settings(**PRODUCTION_LIKE)
@pytest.mark.parametrize("path", ["/login/", "/queue/", "/accounts/"])
def test_every_page_carries_the_security_headers(client, alice_csm, path):
    if path != "/login/":
        client.force_login(alice_csm)
    response = client.get(path, secure=True)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@override_settings(**PRODUCTION_LIKE)
def test_hsts_is_sent_only_over_https(client, db):
    assert "Strict-Transport-Security" not in client.get("/login/")
    assert "Strict-Transport-Security" in client.get("/login/", secure=True)


@override_settings(**PRODUCTION_LIKE)
def test_the_content_security_policy_allows_only_our_own_origin(client, db):
    directives = csp_directives(client.get("/login/", secure=True))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'self'"
    assert "unsafe-inline" not in str(directives) and "unsafe-eval" not in str(directives)


def test_htmx_is_told_not_to_inject_styles_or_eval(client, db):
    content = client.get("/login/").content.decode()
    assert '"includeIndicatorStyles":false' in content
    assert '"allowEval":false' in content
    css = (ROOT / "static" / "css" / "app.css").read_text()
    assert ".htmx-indicator" in css


@override_settings(**PRODUCTION_LIKE)
def test_session_and_csrf_cookies_are_secure_httponly_and_samesite(client, alice_csm):
    page = client.get("/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD}, secure=True, headers={"Referer": ""}
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    for cookie in (session, csrf):
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
    assert int(session["max-age"]) == settings.SESSION_COOKIE_AGE <= 12 * 60 * 60


INLINE_CODE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> block": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "on…= handler": re.compile(r"<[a-z][^>]*\s(?:hx-)?on[a-z:-]*\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_needs_an_inline_exception_to_the_policy():
    """What the policy refuses must not be in the markup: behaviour lives in static/js/app.js
    and styling in static/css/app.css. HTML built in Python (the SVG charts) counts too."""
    sources = list((ROOT / "templates").rglob("*.html"))
    sources += [ROOT / "health" / "charts.py", ROOT / "interviews" / "report_charts.py"]
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for what, pattern in INLINE_CODE.items():
            found += [f"{path.relative_to(ROOT)}: {what}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


# --- login throttling (django-axes) ----------------------------------------------------------------


def fail_login(client, username="alice", ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)


def good_login(client, username="alice", ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_username_out_with_a_clear_message(client, alice_csm):
    for _ in range(4):
        response = fail_login(client)
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    locked = fail_login(client)
    assert locked.status_code == 429
    content = locked.content.decode()
    assert "Too many failed attempts to log in. Try again in 15 minutes" in content
    assert 'name="password"' in content  # the login page itself, not a bare error
    assert 'value="alice"' in content

    # Even the right password is refused while the lockout lasts.
    refused = good_login(client)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_message_is_in_the_visitors_language(client, alice_csm):
    from django.utils import translation
    from django.utils.translation import ngettext

    for _ in range(5):
        fail_login(client)
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": "wrong"},
        REMOTE_ADDR="10.0.0.1",
        headers={"Accept-Language": "zh-hant"},
    )
    assert response.status_code == 429
    with translation.override("zh-hant"):
        expected = ngettext(
            "Too many failed attempts to log in. Try again in %(minutes)s minute, "
            "or ask an administrator to unlock your account.",
            "Too many failed attempts to log in. Try again in %(minutes)s minutes, "
            "or ask an administrator to unlock your account.",
            15,
        ) % {"minutes": 15}
    assert expected in response.content.decode()
    assert 'lang="zh-hant"' in response.content.decode()


def test_the_lockout_is_per_username_and_address(client, alice_csm, bob_other_csm):
    for _ in range(5):
        fail_login(client)
    assert good_login(client, username="bob").status_code == 302
    client.logout()
    assert good_login(client, ip="10.0.0.2").status_code == 302


def test_one_address_trying_many_usernames_is_locked_out(client, settings, alice_csm, bob_other_csm):
    """Four tries each at 30 usernames stay under the per-pair limit; the address's own limit
    (AXES_IP_FAILURE_LIMIT, 30 by default) stops the spray, with the same 429 page."""
    assert settings.AXES_IP_FAILURE_LIMIT == 30
    assert settings.AXES_IP_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT
    statuses = [fail_login(client, username=f"user{n}").status_code for n in range(29)]
    assert set(statuses) == {200}
    # The attacker's own account logging in does not wipe the address's count.
    assert good_login(client, username="alice").status_code == 302
    client.logout()
    locked = fail_login(client, username="user29")
    assert locked.status_code == 429
    assert "Too many failed attempts to log in. Try again in 15 minutes" in locked.content.decode()
    # Now nobody logs in from that address, not even with the right password...
    assert fail_login(client, username="user30").status_code == 429
    assert good_login(client, username="bob").status_code == 429
    assert "_auth_user_id" not in client.session
    # ...while another address is not affected.
    assert good_login(client, username="bob", ip="10.0.0.2").status_code == 302


def test_the_per_address_limit_comes_from_the_environment(client, settings, alice_csm):
    assert production_values(AXES_IP_FAILURE_LIMIT="8")["AXES_IP_FAILURE_LIMIT"] == 8
    settings.AXES_IP_FAILURE_LIMIT = 8
    for n in range(7):
        assert fail_login(client, username=f"user{n}").status_code == 200
    assert fail_login(client, username="user7").status_code == 429
    assert good_login(client).status_code == 429


def test_the_pair_limit_still_locks_one_username_before_the_address(client, alice_csm, bob_other_csm):
    for _ in range(4):
        assert fail_login(client).status_code == 200
    assert fail_login(client).status_code == 429
    # Five failures are far from the address's limit: another user there logs in.
    assert good_login(client, username="bob").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, alice_csm):
    for _ in range(5):
        fail_login(client)
    assert good_login(client).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert good_login(client).status_code == 302


def test_a_successful_login_resets_the_count(client, alice_csm):
    for _ in range(4):
        fail_login(client)
    assert good_login(client).status_code == 302
    client.logout()
    for _ in range(4):
        assert fail_login(client).status_code == 200
    assert good_login(client).status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.9"),  # no proxy: the header is the client's own claim
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what our proxy appended, not the forgery
        (2, "6.6.6.6, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        (1, "", "10.0.0.9"),
    ],
)
def test_the_throttle_reads_the_address_our_proxies_saw(rf, proxies, forwarded, expected):
    from csworkbench.shell.lockout import client_address

    request = rf.post("/login/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_address(request) == expected


def test_the_admin_login_goes_through_the_same_throttle(client, alice_csm):
    # /admin/login/ redirects to /login/: there is no second, unthrottled login form.
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- CSRF: every form refuses a POST without the token ------------------------------------------


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def _forms(alice_account, alice_csm, maria_manager, ivan_interviewer):
    from interviews.models import ExitInterview  # noqa: F401 - the app is loaded
    from tests.interviews.factories import ChurnedAccountFactory
    from tests.playbooks.factories import TaskFactory, draft_plan_for

    task = TaskFactory(account=alice_account)
    plan = draft_plan_for(alice_account)
    churned = ChurnedAccountFactory(owner=alice_csm)
    return [
        (alice_csm, reverse("accounts:log_touchpoint", args=[alice_account.pk]), {"subject": "x"}),
        (alice_csm, reverse("playbooks:task_done", args=[task.pk]), {"outcome": "done"}),
        (maria_manager, reverse("plans:decide", args=[plan.pk]), {"decision": "approve"}),
        (maria_manager, reverse("rules:create"), {"name": "x"}),
        (ivan_interviewer, reverse("interviews:autosave", args=[churned.pk]), {"notes": "x"}),
        (maria_manager, reverse("imports:list"), {"kind": "accounts"}),
        (maria_manager, reverse("notifications:template_create"), {"name": "x"}),
        (alice_csm, reverse("logout"), {}),
    ]


def test_posts_without_a_csrf_token_are_refused_on_every_app(
    csrf_client, alice_account, alice_csm, maria_manager, ivan_interviewer
):
    for user, url, data in _forms(alice_account, alice_csm, maria_manager, ivan_interviewer):
        csrf_client.force_login(user)
        for headers in ({}, {"HX-Request": "true"}):
            response = csrf_client.post(url, data, headers=headers)
            assert response.status_code == 403, (url, response.status_code)
    assert not Touchpoint.objects.exists()


def test_a_post_with_the_token_goes_through(csrf_client, alice_account, alice_csm):
    csrf_client.force_login(alice_csm)
    page = csrf_client.get(reverse("accounts:detail", args=[alice_account.pk]))
    token = page.cookies["csrftoken"].value
    response = csrf_client.post(
        reverse("accounts:log_touchpoint", args=[alice_account.pk]),
        {
            "kind": "call",
            "occurred_at": "2026-01-05T10:00",
            "subject": "With a token",
            "sentiment": "neutral",
            "csrfmiddlewaretoken": token,
            "form_token": tokens_in(page)[0],
        },
    )
    assert response.status_code != 403
    assert Touchpoint.objects.filter(subject="With a token").exists()


def test_the_api_needs_its_bearer_token_and_no_csrf_token(csrf_client, ada_admin):
    AccountFactory(external_id="ACME-1")
    _token, raw = create_api_token(name="analytics", created_by=ada_admin)
    body = json.dumps({"metrics": [{"account": "ACME-1", "date": "2026-01-01", "logins": 1}]})
    url = reverse("api:metrics")
    without_token = csrf_client.post(url, body, content_type="application/json")
    assert without_token.status_code == 401
    wrong_token = csrf_client.post(
        url, body, content_type="application/json", headers={"Authorization": "Bearer nope"}
    )
    assert wrong_token.status_code == 401
    with_token = csrf_client.post(
        url, body, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
    )
    assert with_token.status_code not in (401, 403), with_token.content
