"""Cross-site scripting: hostile text in every field people can type renders as text.

Each field gets a payload combining a script tag, an attribute breaker, a quoted event handler
and a javascript: URL; every page that shows the field must carry the escaped form and never the
raw one. A last test keeps the places that switch escaping off to a reviewed list.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Touchpoint
from interviews.models import ExitInterview
from playbooks.models import EmailTemplate, Rule
from playbooks.notifications import notify
from tests.factories import AccountFactory, ContactFactory
from tests.interviews.factories import ChurnedAccountFactory, DoneInterviewFactory
from tests.playbooks.factories import RuleFactory, TaskFactory, draft_plan_for

ROOT = Path(__file__).resolve().parent.parent

# Short enough for a 200-character field with a label in front of it.
PAYLOAD = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'onmouseover='alert(1) javascript:alert(1)"
RAW = ["<script>alert(1)", "<img src=x", "'onmouseover='", '"><img']
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
DANGEROUS_URL = re.compile(r"""(href|src|action|formaction|hx-get|hx-post)\s*=\s*["']?\s*javascript:""", re.I)


def assert_escaped(response, *, label: str, shows: tuple[str, ...] = ()) -> None:
    assert response.status_code == 200, (label, response.status_code)
    content = response.content.decode()
    for raw in RAW:
        assert raw not in content, f"{label}: raw {raw!r} in the page"
    assert not DANGEROUS_URL.search(content), f"{label}: a javascript: URL in an attribute"
    assert "&lt;script&gt;alert(1)" in content, f"{label}: the payload is not shown at all"
    for field in shows:
        assert f"{field} &lt;script&gt;alert(1)" in content, f"{label}: {field} not shown escaped"


def payload(label: str) -> str:
    return f"{label} {PAYLOAD}"


@pytest.fixture
def hostile(alice_csm, maria_manager, ivan_interviewer):
    """One of everything, each text field carrying the payload."""
    account = AccountFactory(name=payload("Acct"), owner=alice_csm, value_tier="A")
    contact = ContactFactory(account=account, name=payload("Contact")[:200], is_champion=True)
    Touchpoint.objects.create(
        account=account,
        author=alice_csm,
        contact=contact,
        kind="call",
        subject=payload("Subject"),
        body=payload("Body"),
        occurred_at=timezone.now(),
    )
    # Past due, so the manager's team queue lists it too.
    task = TaskFactory(account=account, title=payload("Task"), due_at=timezone.now() - timedelta(hours=30))
    plan = draft_plan_for(
        account,
        objectives=payload("Objectives"),
        diagnosis=payload("Diagnosis"),
        offers=[{"kind": "extended_support", "description": payload("Offer"), "cost": 500}],
    )
    rule = RuleFactory(name=payload("Rule"), description=payload("Rule description"))
    churned = ChurnedAccountFactory(name=payload("Churned"), owner=alice_csm)
    interview = DoneInterviewFactory(
        account=churned,
        interviewer=ivan_interviewer,
        respondent_name=payload("Respondent")[:200],
        answer_1=payload("Answer one"),
        answer_2=payload("Answer two"),
        competitor=payload("Competitor")[:200],
        win_back_condition=payload("Win back"),
    )
    template = EmailTemplate.objects.create(
        key="xss-check", name=payload("Template"), subject=payload("Subj")[:200], body=payload("Email body")
    )
    notify(
        recipients=[alice_csm, maria_manager],
        kind="info",
        title=f"Health dropped for {account.name}",
        body=f"{account.name} needs a call",
        url=reverse("accounts:detail", args=[account.pk]),
        account=account,
    )
    from csworkbench.core.models import record_audit

    record_audit(actor=alice_csm, action="task.create", account=account, target=task.title, note=PAYLOAD)
    return {
        "account": account,
        "task": task,
        "plan": plan,
        "rule": rule,
        "churned": churned,
        "interview": interview,
        "template": template,
    }


def test_hostile_text_is_escaped_on_the_csm_pages(client_for, alice_csm, hostile):
    client = client_for(alice_csm)
    account = hostile["account"]
    pages = {
        reverse("accounts:list"): ("Acct",),
        reverse("accounts:list") + "?q=Acct": ("Acct",),
        reverse("accounts:detail", args=[account.pk]): ("Acct", "Contact", "Subject", "Body"),
        reverse("playbooks:queue"): ("Task",),
        reverse("plans:detail", args=[hostile["plan"].pk]): ("Objectives", "Diagnosis", "Offer"),
        reverse("notifications:inbox"): ("Health dropped for Acct",),
        reverse("notifications:compose", args=[account.pk]): ("Acct",),
    }
    for url, shows in pages.items():
        assert_escaped(client.get(url), label=url, shows=shows)
        assert_escaped(client.get(url, headers={"HX-Request": "true"}), label=f"htmx {url}")


def test_hostile_text_is_escaped_on_the_manager_pages(client_for, maria_manager, hostile):
    client = client_for(maria_manager)
    pages = {
        reverse("playbooks:team_queue"): ("Task",),
        reverse("plans:detail", args=[hostile["plan"].pk]): ("Objectives", "Offer"),
        reverse("rules:list"): ("Rule",),
        reverse("rules:edit", args=[hostile["rule"].pk]): ("Rule", "Rule description"),
        reverse("notifications:inbox"): ("Health dropped for Acct",),
        reverse("notifications:templates"): ("Template",),
        reverse("notifications:template_edit", args=[hostile["template"].pk]): ("Subj", "Email body"),
        reverse("reports:interviews"): ("Churned",),
        reverse("audit:list"): ("Task",),
    }
    for url, shows in pages.items():
        assert_escaped(client.get(url), label=url, shows=shows)


def test_hostile_interview_answers_are_escaped_for_the_interviewer(client_for, ivan_interviewer, hostile):
    client = client_for(ivan_interviewer)
    pages = {
        reverse("interviews:workspace"): ("Churned",),
        reverse("interviews:interview", args=[hostile["churned"].pk]): (
            "Answer one",
            "Answer two",
            "Win back",
        ),
    }
    for url, shows in pages.items():
        assert_escaped(client.get(url), label=url, shows=shows)


def test_the_plan_is_submitted_and_shown_escaped_in_approvals(client_for, alice_csm, maria_manager, hostile):
    from playbooks import plans

    plans.submit_plan(plan=hostile["plan"], user=alice_csm)
    assert_escaped(client_for(maria_manager).get(reverse("playbooks:approvals")), label="approvals")


def test_the_stored_values_are_kept_as_typed(hostile):
    # Escaping happens on output only: the database holds exactly what was typed.
    assert hostile["account"].name.endswith(PAYLOAD)
    assert Rule.objects.get(pk=hostile["rule"].pk).name.endswith(PAYLOAD)
    assert ExitInterview.objects.get(pk=hostile["interview"].pk).answer_1.endswith(PAYLOAD)


# --- the reviewed places where escaping is switched off ------------------------------------------

# path → (how many uses, why each is safe). A new use fails the test until it is reviewed here.
ALLOWED_UNESCAPED = {
    "health/charts.py": (
        6,
        "the account health chart's SVG: fixed markup (<g>, </g>, </svg>) and a join of parts that "
        "are each passed through conditional_escape; every text (account names, labels) goes "
        "through format_html",
    ),
    "interviews/report_charts.py": (
        11,
        "the report charts' SVG: the same pattern as health/charts.py, fixed closing tags and a "
        "join of individually escaped parts",
    ),
    "templates/interviews/survey_email.txt": (
        1,
        "the survey invitation is a text/plain email body, never shown as HTML: with escaping on, "
        "a customer called O'Brien would read O&#x27;Brien",
    ),
}
UNESCAPE_PATTERN = re.compile(r"\|\s*safe\b|mark_safe\(|\{%\s*autoescape\s+off\s*%\}|SafeString\(|\|safeseq")
SKIP_DIRS = {".venv", "staticfiles", "node_modules", "tests", "locale", "media", ".git", "__pycache__"}


def _project_files():
    for path in ROOT.rglob("*"):
        if path.suffix not in {".py", ".html", ".txt"} or not path.is_file():
            continue
        if SKIP_DIRS & set(path.relative_to(ROOT).parts):
            continue
        yield path


def test_escaping_is_switched_off_only_where_reviewed():
    found: dict[str, int] = {}
    for path in _project_files():
        count = len(UNESCAPE_PATTERN.findall(path.read_text(encoding="utf-8", errors="replace")))
        if count:
            found[str(path.relative_to(ROOT))] = count
    expected = {path: count for path, (count, _reason) in ALLOWED_UNESCAPED.items()}
    assert found == expected, (
        "A use of |safe, mark_safe(), SafeString or {% autoescape off %} changed. Review it: user "
        f"data must never reach it unescaped; then update ALLOWED_UNESCAPED. Found: {found}"
    )
