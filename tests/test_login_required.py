"""Walks every URL pattern in the URL conf and proves that each one needs a login.

A new page cannot escape: the walk reads the resolver, not a hand-written list.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

# Open without a login: the login page, the health and readiness probes, and the language switch
# (a POST that only sets a cookie, needed on the login page). The admin's own login page
# redirects to ours.
PUBLIC = {
    "/login/",
    "/healthz",
    "/readyz",
    "/i18n/setlang/",
    # The integration API authenticates every request by its bearer token, not by a session.
    "/api/v1/metrics",
    # The exit-interview survey: reached by a signed one-time link sent to the customer.
    "/survey/x/",
}

SAMPLE = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000001", "path": "x"}
REGEX_SAMPLE = {"app_label": "accounts", "model_name": "account", "object_id": "1", "url": "x"}


def route_to_path(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE[m.group(1) or "str"], route)


def regex_to_path(regex: str) -> str:
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: REGEX_SAMPLE.get(m.group(1), "1"), text)
    return re.sub(r"\(\?:[^)]*\)\??", "", text)


def walk(patterns, prefix=""):
    for entry in patterns:
        pattern = entry.pattern
        piece = route_to_path(pattern._route) if hasattr(pattern, "_route") else regex_to_path(pattern._regex)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + piece)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + piece


ALL_PATHS = sorted(set(walk(get_resolver().url_patterns)))


def test_the_walk_finds_the_pages_we_know():
    for known in (
        "/",
        "/accounts/",
        "/accounts/1/",
        "/queue/",
        "/plans/approvals/",
        "/interviews/",
        "/admin/",
    ):
        assert known in ALL_PATHS
    assert len(ALL_PATHS) > 20


@pytest.mark.parametrize("path", [path for path in ALL_PATHS if path not in PUBLIC])
def test_every_page_needs_a_login(client, db, path):
    resolve(path)  # the sample path really routes somewhere
    for method in (client.get, client.post):
        response = method(path, follow=True)
        assert response.redirect_chain, f"{method.__name__.upper()} {path} answered without a login"
        # The admin sends visitors to its login URL, which hands over to ours.
        final_url = response.redirect_chain[-1][0]
        assert final_url.startswith("/login/?next="), final_url
        assert 'name="password"' in response.content.decode()


def test_the_public_pages_are_exactly_these(client, db):
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/login/"}).status_code == 302
