"""Every page's <head> is whole: no template text leaks into the page, and the title, stylesheet,
scripts and favicon sit in <head> (a multi-line {# #} comment once printed itself there and
pushed them all into <body>)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def head_and_body(html: str) -> tuple[str, str]:
    head = re.search(r"<head>(.*?)</head>", html, re.S)
    assert head, "no <head>…</head>"
    return head.group(1), html[head.end() :]


@pytest.mark.parametrize("path", ["/login/", "/accounts/"])
def test_the_head_holds_the_title_stylesheet_scripts_and_favicon(client_for, alice_csm, path):
    html = client_for(alice_csm).get(path, follow=True).content.decode()
    head, body = head_and_body(html)
    assert "{#" not in html and "#}" not in html
    assert re.search(r"<title>[^<]*csworkbench</title>", head)
    assert 'rel="stylesheet"' in head and 'rel="icon"' in head and "htmx-2" in head
    # Nothing but markup in <head>: no stray text (the title's own text aside).
    assert re.sub(r"<[^>]+>", "", re.sub(r"<title>.*?</title>", "", head, flags=re.S)).strip() == ""
    assert "<title>" not in body


def test_no_template_comment_spans_lines():
    """Django's {# #} is one line only: a multi-line one is printed as text."""
    offenders = []
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            if "{#" in line and "#}" not in line.split("{#", 1)[1]:
                offenders.append(f"{template}:{number}")
    assert not offenders, offenders
