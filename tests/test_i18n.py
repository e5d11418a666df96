"""The catalogues are complete and compiled, and Chinese pages show no English left over."""

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory, ContactFactory, TouchpointFactory

LOCALES = ("zh_Hant", "zh_Hans")


def catalogue(locale: str) -> polib.POFile:
    return polib.pofile(str(Path(settings.BASE_DIR) / "locale" / locale / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(locale):
    po = catalogue(locale)
    assert len(po) > 100
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    plural_gaps = [e.msgid for e in po if e.msgid_plural and not all(e.msgstr_plural.values())]
    assert plural_gaps == []


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_the_source(locale):
    po = catalogue(locale)
    mo_path = Path(po.fpath).with_suffix(".mo")
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in po.translated_entries():
        if entry.msgid_plural:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        assert compiled._catalog.get(key) == entry.msgstr, f"stale .mo for {entry.msgid!r}: run make compile"


class VisibleText(HTMLParser):
    """Collects the text a reader sees, plus labels that assistive technology reads out."""

    def __init__(self):
        super().__init__()
        self.chunks: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "data-label") and value:
                self.chunks.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.chunks.append(data.strip())


def english_leftovers(html: str, allowed: set[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    english_messages = {
        entry.msgid for entry in catalogue("zh_Hant") if re.search(r"[A-Za-z]{3}", entry.msgid)
    }
    leftovers = []
    for chunk in parser.chunks:
        if chunk in allowed:
            continue
        if chunk in english_messages or re.fullmatch(r"[A-Za-z][A-Za-z ,.'’()/&-]{3,}", chunk):
            leftovers.append(chunk)
    return leftovers


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_chinese_pages_show_no_english_left_over(
    client, language, alice_csm, maria_manager, ivan_interviewer, ada_admin
):
    account = AccountFactory(name="北辰物流", owner=alice_csm, region="台北", plan="企業版")
    ContactFactory(
        account=account, name="林小美", role="營運主管", email="", is_champion=True, is_primary=True
    )
    TouchpointFactory(account=account, subject="季度檢視", author=alice_csm)
    AccountFactory(name="晨光教育", status="churned", churned_on=timezone.localdate(), churn_type="cancelled")
    # Proper names and codes that stay as they are in any language.
    allowed = {
        "csworkbench",
        "English",
        "Alice Chen",
        "Maria Wang",
        "Ivan Huang",
        "Ada Wu",
        "MRR",
        "CSV",
        "alice",
        "maria",
        "ivan",
        "ada",
        "Taipei",
        "Growth",
        account.external_id,
    }
    pages = [
        (None, reverse("login")),
        (alice_csm, reverse("playbooks:queue")),
        (alice_csm, reverse("accounts:list")),
        (alice_csm, reverse("accounts:detail", args=[account.pk])),
        (maria_manager, reverse("playbooks:approvals")),
        (ivan_interviewer, reverse("interviews:workspace")),
        (ada_admin, reverse("accounts:list") + "?value_tier=Z"),
    ]
    for user, url in pages:
        client.logout()
        if user:
            client.force_login(user)
        response = client.get(url, headers={"Accept-Language": language})
        assert response.status_code == 200, url
        assert f'lang="{language}"' in response.content.decode()
        assert english_leftovers(response.content.decode(), allowed) == [], url


def test_accept_language_is_honoured_and_the_switcher_overrides_it(client, alice_csm):
    client.force_login(alice_csm)
    assert "我的待辦" in client.get("/queue/", headers={"Accept-Language": "zh-hant"}).content.decode()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/queue/"})
    assert response["Location"] == "/queue/"
    content = client.get("/queue/", headers={"Accept-Language": "zh-hant"}).content.decode()
    assert 'lang="zh-hans"' in content
    assert "我的待办" in content
