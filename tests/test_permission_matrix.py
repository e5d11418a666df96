"""Who may open what: every URL in the URL conf × every role, against a table of expectations.

The walk reads the resolver (as tests/test_login_required.py does), so a new URL name that is
not in `EXPECTED` fails `test_every_url_name_has_an_expectation`: add it to the table. Path
parameters are filled with real rows — Alice's account, her task, her plan, a rule, an import —
so object-level checks run, not only the role decorators.

Each role sends a GET, or for views that answer only POST an empty POST, each in a savepoint
rolled back afterwards. No answer may be a 500; a role that is refused must leave every table
as it was. Object-level rules get explicit tests at the end, with real form data.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

ROLES = ("anonymous", "alice", "bob", "maria", "ivan", "ada", "nora")

# Role sets, by the people of tests/conftest.py: Alice is a CSM and owns the objects in the
# paths, Bob another CSM, Maria a manager (of no team, so of everyone), Ivan an interviewer,
# Ada an admin, Nora a user without a role.
EVERYONE = frozenset(ROLES) - {"anonymous"}
WITH_A_ROLE = EVERYONE - {"nora"}
STAFF = frozenset({"alice", "bob", "maria", "ada"})
MANAGERS = frozenset({"maria"})
MANAGERS_AND_ADMINS = frozenset({"maria", "ada"})
INTERVIEWERS_AND_MANAGERS = frozenset({"maria", "ivan"})
OWNER_AND_ABOVE = frozenset({"alice", "maria", "ada"})  # who may change Alice's things
OWNER_AND_MANAGERS = frozenset({"alice", "maria"})
CSMS_AND_MANAGERS = frozenset({"alice", "bob", "maria"})  # who is assigned tasks

# An empty POST to a view the role may use: a form error, a conflict, "no such choice", or a
# redirect (after the change, for actions that need no body: toggle, remove, mark read) — never
# a 200 nor a 500.
REFUSED_POST = frozenset({302, 400, 404, 409, 422})


@dataclass(frozen=True)
class Expect:
    """Allowed roles get `ok` (a status or a set), anonymous a redirect to the login page, and
    everyone else `denied` (403 unless `hidden` says 404 for some roles)."""

    allowed: frozenset
    method: str = "GET"  # "POST" for views that answer POST only
    ok: int | frozenset | None = None  # default: 200 for GET, REFUSED_POST for POST
    denied: int = 403
    hidden: frozenset = frozenset()  # roles for whom the object does not exist: 404
    anonymous: int = 302
    special: dict = field(default_factory=dict)  # role → status, for the odd one out

    def status_for(self, role: str):
        if role in self.special:
            return self.special[role]
        if role == "anonymous":
            return self.anonymous
        if role in self.allowed:
            if self.ok is not None:
                return self.ok
            return 200 if self.method == "GET" else REFUSED_POST
        if role in self.hidden:
            return 404
        return self.denied


def page(allowed, **kwargs) -> Expect:
    return Expect(frozenset(allowed), **kwargs)


def action(allowed, **kwargs) -> Expect:
    return Expect(frozenset(allowed), method="POST", **kwargs)


# fmt: off
EXPECTED: dict[str, Expect] = {
    # --- public --------------------------------------------------------------------------------
    "login": page(EVERYONE, anonymous=200, ok=302),  # a signed-in user goes to their start page
    "logout": action(EVERYONE, anonymous=302, ok=302),
    "healthz": page(EVERYONE, anonymous=200),
    "readyz": page(EVERYONE, anonymous=200),  # the tests run tasks in-process: no broker to miss
    "set_language": action(EVERYONE, anonymous=302, ok=302),
    "survey:answer": page(EVERYONE, anonymous=200),  # the signed link is the credential
    "api:metrics": page(EVERYONE, anonymous=405, ok=405),  # bearer token, POST only; JSON 405
    # --- every signed-in user ------------------------------------------------------------------
    "home": page(EVERYONE, ok=302),  # to the role's start page (Nora's: no_role)
    # Nora's start page says she has no role yet (a 403); everyone else is sent home.
    "no_role": page(EVERYONE, ok=302, special={"nora": 403}),
    "notifications:inbox": page(EVERYONE),
    "notifications:read_all": action(EVERYONE),
    # Notifications are per recipient: Alice's is nobody else's.
    "notifications:read": action({"alice"}, hidden=EVERYONE - {"alice"}),
    # --- staff: CSMs, managers, admins ---------------------------------------------------------
    # Interviewers read the basics of the accounts there are interviews for (churned, churning).
    "accounts:list": page(WITH_A_ROLE),
    # The export carries health scores and tiers, which interviewers may not see (health:chart).
    "accounts:export": page(STAFF),
    # CSMs read every account, Bob Alice's too. Alice's account is active, so Ivan has no
    # interview to hold there: it does not exist for him. Nora sees none.
    "accounts:detail": page(STAFF | MANAGERS_AND_ADMINS, hidden={"nora", "ivan"}),
    # Without HTMX the chart sends the browser to the account page that embeds it.
    "health:chart": page(STAFF, ok=302, hidden={"nora", "ivan"}),
    "playbooks:matrix": page(STAFF),
    "reports:index": page(STAFF),
    "reports:csv": page(STAFF),
    "reports:interviews": page(STAFF),
    "reports:churned": page(STAFF),
    "reports:review": page(STAFF),
    # --- Alice's account, her task, her plan: the owner, managers and admins -------------------
    # Bob reads Alice's account but changes nothing on it: 403 (see the object-level test below).
    "accounts:log_touchpoint": action(OWNER_AND_ABOVE, hidden={"nora", "ivan"}),
    "health:set_override": action(OWNER_AND_ABOVE, hidden={"nora", "ivan"}),
    "health:revoke_override": action(OWNER_AND_ABOVE, hidden={"nora", "ivan"}),
    "playbooks:start_playbook": action(OWNER_AND_ABOVE),
    "notifications:compose": page(OWNER_AND_ABOVE),
    "playbooks:task_done": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "playbooks:task_snooze": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "playbooks:task_touchpoint": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "playbooks:task_signoff": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:detail": page(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:edit": page({"alice"}, hidden={"bob"}),  # only the author edits a draft
    "plans:submit": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:activate": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:close": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:create": page(OWNER_AND_MANAGERS),  # ?account=Alice's: admins do not draft
    # --- CSMs only -----------------------------------------------------------------------------
    "playbooks:queue": page(CSMS_AND_MANAGERS),
    # --- managers ------------------------------------------------------------------------------
    "playbooks:team_queue": page(MANAGERS),
    "playbooks:task_reassign": action(MANAGERS),
    "playbooks:task_signoff_done": action(MANAGERS),
    "playbooks:matrix_edit": page(MANAGERS),
    "playbooks:playbook_create": page(MANAGERS),
    "playbooks:playbook_edit": page(MANAGERS),
    "plans:decide": action(MANAGERS),
    "interviews:reasons": page(MANAGERS),
    "interviews:category_create": page(MANAGERS),
    "interviews:category_edit": page(MANAGERS),
    "interviews:category_remove": action(MANAGERS),
    "interviews:sub_reason_create": page(MANAGERS),
    "interviews:sub_reason_edit": page(MANAGERS),
    "interviews:sub_reason_remove": action(MANAGERS),
    # --- managers and admins -------------------------------------------------------------------
    "playbooks:approvals": page(MANAGERS_AND_ADMINS),
    "plans:save_rate": page(MANAGERS_AND_ADMINS),
    "plans:approval_policy": action(MANAGERS_AND_ADMINS),
    "imports:list": page(MANAGERS_AND_ADMINS),
    "imports:detail": page(MANAGERS_AND_ADMINS),
    "imports:confirm": action(MANAGERS_AND_ADMINS),
    "imports:errors": page(MANAGERS_AND_ADMINS),
    "health_models:list": page(MANAGERS_AND_ADMINS),
    "health_models:start_draft": action(MANAGERS_AND_ADMINS),
    "health_models:detail": page(MANAGERS_AND_ADMINS),
    "health_models:edit": page(MANAGERS_AND_ADMINS),
    "health_models:preview": page(MANAGERS_AND_ADMINS),
    "health_models:publish": page(MANAGERS_AND_ADMINS),
    "health_models:discard": page(MANAGERS_AND_ADMINS),
    "rules:list": page(MANAGERS_AND_ADMINS),
    "rules:create": page(MANAGERS_AND_ADMINS),
    "rules:dry_run_form": action(MANAGERS_AND_ADMINS),
    "rules:edit": page(MANAGERS_AND_ADMINS),
    "rules:detail": page(MANAGERS_AND_ADMINS),
    "rules:toggle": action(MANAGERS_AND_ADMINS),
    "rules:delete": action(MANAGERS_AND_ADMINS),
    "rules:dry_run": page(MANAGERS_AND_ADMINS),
    "notifications:deliveries": page(MANAGERS_AND_ADMINS),
    "notifications:retry": action(MANAGERS_AND_ADMINS),
    "notifications:templates": page(MANAGERS_AND_ADMINS),
    "notifications:template_create": page(MANAGERS_AND_ADMINS),
    "notifications:template_preview": action(MANAGERS_AND_ADMINS, ok=200),  # renders, writes nothing
    "notifications:template_edit": page(MANAGERS_AND_ADMINS),
    "reports:backtest": page(MANAGERS_AND_ADMINS),
    "reports:backtest_draft": action(MANAGERS_AND_ADMINS),
    "audit:list": page(MANAGERS_AND_ADMINS),
    "audit:export": page(MANAGERS_AND_ADMINS),
    # --- interviewers and managers: never the account's own CSM --------------------------------
    "interviews:workspace": page(INTERVIEWERS_AND_MANAGERS),
    "interviews:interview": page(INTERVIEWERS_AND_MANAGERS, hidden={"nora"}),
    "interviews:autosave": action(INTERVIEWERS_AND_MANAGERS, hidden={"nora"}),
    # HTMX only: a plain GET is sent back to the interview page.
    "interviews:reason_options": page(INTERVIEWERS_AND_MANAGERS, ok=302, hidden={"nora"}),
    "interviews:send_survey": action(INTERVIEWERS_AND_MANAGERS, hidden={"nora"}),
    # --- action items from the reviews: every role raises them; managers change any ----------
    "reports:actions": page(WITH_A_ROLE),
    "reports:action_create": page(WITH_A_ROLE),  # ?period=: raised from a churn review
    "reports:action_edit": page(MANAGERS_AND_ADMINS),  # an item raised by nobody here
}
# fmt: on

# The Django admin: staff only (Ada). Everyone else is sent to the login page; its many URL
# names are covered by this one rule.
ADMIN_NAMESPACE = "admin"


# --- the walk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    template: str  # the path with <param> placeholders left in


def _piece(entry) -> str:
    pattern = entry.pattern
    if hasattr(pattern, "_route"):
        return pattern._route
    text = pattern._regex.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    return re.sub(r"\(\?:[^)]*\)\??", "", text)


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        piece = _piece(entry)
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if namespace and entry.namespace
                else (entry.namespace or namespace)
            )
            yield from walk(entry.url_patterns, prefix + piece, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, "/" + prefix + piece)


ROUTES = list(walk(get_resolver().url_patterns))
NAMED = {route.name: route for route in ROUTES if not route.name.startswith(ADMIN_NAMESPACE + ":")}
ADMIN_ROUTES = [route for route in ROUTES if route.name.startswith(ADMIN_NAMESPACE + ":")]


def test_every_url_name_has_an_expectation():
    missing = sorted(set(NAMED) - set(EXPECTED))
    assert not missing, (
        f"URL names without an expected status in tests/test_permission_matrix.py: {missing}. "
        "Add each to EXPECTED with the roles that may use it, so no page escapes the matrix."
    )
    stale = sorted(set(EXPECTED) - set(NAMED))
    assert not stale, f"EXPECTED names URLs that no longer exist: {stale}"


def test_the_walk_sees_every_app():
    namespaces = {name.split(":")[0] for name in NAMED if ":" in name}
    assert {"accounts", "plans", "playbooks", "interviews", "rules", "api", "survey"} <= namespaces
    assert len(ADMIN_ROUTES) > 10


# --- the world: real rows for the path parameters -----------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Seven users per test: hash their passwords cheaply (nobody logs in with one here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(alice_csm, bob_other_csm, maria_manager, ivan_interviewer, ada_admin, nora_no_role, alice_account):
    from accounts.models import ImportJob
    from health.editor import create_draft
    from interviews.models import SubReason
    from interviews.services import invite_to_survey, start_interview
    from playbooks.models import Delivery, EmailTemplate, Notification
    from tests.health.factories import HealthOverrideFactory
    from tests.interviews.factories import ActionItemFactory, ChurnedAccountFactory, category
    from tests.playbooks.factories import PlaybookFactory, RuleFactory, TaskFactory, draft_plan_for

    category("product")  # the shipped taxonomy, in case a transactional test flushed it
    # Alice's churned account: interviewers and managers interview it, Alice never.
    churned = ChurnedAccountFactory(owner=alice_csm, churned_on=timezone.localdate() - timedelta(days=21))
    # A survey link for Bob's churned account, opened by Ivan.
    interview = start_interview(
        account=ChurnedAccountFactory(owner=bob_other_csm), interviewer=ivan_interviewer
    )
    _invitation, token = invite_to_survey(
        interview=interview, user=ivan_interviewer, email="ceo@example.com", language="en"
    )
    notification = Notification.objects.create(recipient=alice_csm, kind="task_assigned", title="New task")
    job = ImportJob(kind="metrics", original_name="metrics.csv", created_by=maria_manager)
    job.file.save("permission-matrix.csv", ContentFile(b"account,date\n"), save=False)
    job.save()
    template = EmailTemplate.objects.order_by("pk").first() or EmailTemplate.objects.create(
        key="matrix", name="Matrix", subject="Hello", body="Hi"
    )
    objects = {
        "account": alice_account,
        "churned": churned,
        "task": TaskFactory(account=alice_account),
        "plan": draft_plan_for(alice_account),
        "rule": RuleFactory(),
        "playbook": PlaybookFactory(),
        "job": job,
        "override": HealthOverrideFactory(account=alice_account, created_by=alice_csm),
        "draft_model": create_draft(user=maria_manager),
        "notification": notification,
        "delivery": Delivery.objects.create(
            channel="email", notification=notification, to="alice@example.com", status="failed"
        ),
        "template": template,
        # The category the action item is filed under: removing it must switch it off.
        "category": category("product"),
        "sub_reason": SubReason.objects.order_by("pk").first(),
        "action_item": ActionItemFactory(),
        "token": token,
    }
    users = {
        "alice": alice_csm,
        "bob": bob_other_csm,
        "maria": maria_manager,
        "ivan": ivan_interviewer,
        "ada": ada_admin,
        "nora": nora_no_role,
    }
    return users, objects


# Which row fills each path parameter: by URL name, or by the longest matching name prefix.
PARAMS = {
    "accounts:": {"pk": "account"},
    "health:": {"pk": "account"},
    "health:revoke_override": {"pk": "override"},
    "health_models:": {"version": "draft_model"},
    "imports:": {"pk": "job"},
    "playbooks:": {"pk": "task", "risk_level": "high"},
    "playbooks:start_playbook": {"pk": "account"},
    "playbooks:playbook_edit": {"pk": "playbook"},
    "plans:": {"pk": "plan"},
    "rules:": {"pk": "rule"},
    "notifications:": {"account_pk": "account"},
    "notifications:read": {"pk": "notification"},
    "notifications:retry": {"pk": "delivery"},
    "notifications:template_edit": {"pk": "template"},
    "interviews:": {"account_pk": "churned"},
    "interviews:category_": {"pk": "category"},
    "interviews:sub_reason_": {"pk": "sub_reason", "category_pk": "category"},
    "reports:": {"pk": "action_item", "table": "logo"},
    "survey:": {"token": "token"},
    "admin:": {"app_label": "accounts", "model_name": "account", "object_id": "account", "url": "x"},
}
# Query strings some pages need to know what they are about.
QUERY = {
    "plans:create": "?account={account}",
    "reports:action_create": "?period=2026-10",
}


def fill(route: Route, objects: dict) -> str:
    prefixes = [prefix for prefix in PARAMS if route.name.startswith(prefix)]
    choices = PARAMS[max(prefixes, key=len)] if prefixes else {}

    def value(match: re.Match) -> str:
        source = choices.get(match.group(1))
        assert source is not None, f"no value for {match.group(0)} in {route.name}: add it to PARAMS"
        row = objects.get(source, source)
        if source == "draft_model":  # health models are addressed by version number
            return str(row.version)
        return str(row.pk) if hasattr(row, "pk") else str(row)

    path = re.sub(r"<(?:\w+:)?(\w+)>", value, route.template)
    query = QUERY.get(route.name, "").format(account=objects["account"].pk)
    return path + query


def status_of(client, users, role, method, path) -> int:
    """One request as `role`, rolled back afterwards: what one role does never changes what the
    next one sees (an empty autosave by Maria would otherwise start an interview Ivan cannot edit)."""
    client.logout()
    if role != "anonymous":
        client.force_login(users[role])
    send = client.get if method == "GET" else client.post
    with transaction.atomic():
        status = send(path).status_code
        transaction.set_rollback(True)
    return status


def matches(expected, got: int) -> bool:
    return got in expected if isinstance(expected, frozenset) else got == expected


# Where the app answers differently from the table, and the table is right: each is a bug,
# reported and kept here until fixed. A fixed one fails the test, so it is taken off this list.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


# --- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_gets_the_expected_status(client, world, name):
    users, objects = world
    expect = EXPECTED[name]
    path = fill(NAMED[name], objects)
    wrong, known = [], []
    client.raise_request_exception = False  # a crash is a 500 to compare, not an error here
    for role in ROLES:
        got = status_of(client, users, role, expect.method, path)
        want = expect.status_for(role)
        bug = KNOWN_BUGS.get((name, role))
        assert got < 500 or bug, f"{expect.method} {path} as {role}: {got}"
        if matches(want, got):
            assert bug is None, f"fixed: remove ({name!r}, {role!r}) from KNOWN_BUGS"
            continue
        shown = sorted(want) if isinstance(want, frozenset) else want
        (known if bug else wrong).append(f"{role}: got {got}, expected {shown}")
    assert not wrong, f"{expect.method} {path} ({name})\n  " + "\n  ".join(wrong)
    if known:
        pytest.xfail(f"known bug, {name}: " + "; ".join(known))


@pytest.mark.parametrize("name", sorted(name for name, e in EXPECTED.items() if e.method == "POST"))
def test_a_refused_post_writes_nothing(client, world, name):
    """Every role the view refuses POSTs an empty body: no table changes."""
    from django.apps import apps

    users, objects = world
    expect = EXPECTED[name]
    path = fill(NAMED[name], objects)
    refused = [role for role in ROLES if role not in expect.allowed and role not in expect.special]
    # Logins write sessions and axes' access log; a refusal itself is not data.
    models = [m for m in apps.get_models() if m._meta.app_label not in {"sessions", "axes"}]

    def counts():
        return {m._meta.label_lower: m._default_manager.count() for m in models}

    before = counts()
    for role in refused:
        client.logout()
        if role != "anonymous":
            client.force_login(users[role])
        client.post(path)
    after = counts()
    changed = {label: (before[label], after[label]) for label in before if before[label] != after[label]}
    assert not changed, f"an empty POST to {path} by {refused} changed {changed}"


@pytest.mark.parametrize("route", [r for r in ADMIN_ROUTES if "<" not in r.template], ids=lambda r: r.name)
def test_the_admin_is_for_staff_only(client, world, route):
    users, objects = world
    path = fill(route, objects)
    for role in ROLES:
        got = status_of(client, users, role, "GET", path)
        if role == "ada":
            # Staff: what she sees beyond the index depends on her model permissions.
            assert got in {200, 302, 403, 405}, f"GET {path} as ada: {got}"  # logout: POST only
        else:
            assert got == 302, f"GET {path} as {role}: {got}"


# --- object level, with real requests -------------------------------------------------------------


def test_a_csm_cannot_log_a_touchpoint_on_another_csms_account(client_for, bob_other_csm, alice_account):
    from accounts.models import Touchpoint

    response = client_for(bob_other_csm).post(
        f"/accounts/{alice_account.pk}/touchpoints/",
        {"kind": "call", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "subject": "Hi"},
    )
    assert response.status_code == 403
    assert not Touchpoint.objects.filter(account=alice_account).exists()


def test_a_csm_reads_another_csms_account_but_every_write_is_refused(
    client_for, bob_other_csm, alice_account
):
    """docs/security.md: CSMs read every account (they cover for each other) and change only
    their own. Each write on an account is answered 403 with the reason, and changes nothing."""
    from django.apps import apps
    from django.urls import reverse

    from tests.factories import ContactFactory, TouchpointFactory
    from tests.health.factories import HealthOverrideFactory
    from tests.playbooks.factories import PlaybookFactory

    ContactFactory(account=alice_account, name="Grace Ho")
    TouchpointFactory(account=alice_account, subject="Quarterly review")
    override = HealthOverrideFactory(account=alice_account, created_by=alice_account.owner)
    playbook = PlaybookFactory()
    client = client_for(bob_other_csm)

    page = client.get(reverse("accounts:detail", args=[alice_account.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Grace Ho" in content and "Quarterly review" in content  # the whole account, read-only
    assert "Log a touchpoint" not in content and "Override the score" not in content
    assert client.get(reverse("accounts:list"), {"owner": alice_account.owner_id}).status_code == 200

    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    compose = reverse("notifications:compose", args=[alice_account.pk])
    writes = [
        (
            "post",
            reverse("accounts:log_touchpoint", args=[alice_account.pk]),
            {"kind": "call", "occurred_at": now, "subject": "Mine now", "sentiment": "neutral"},
        ),
        (
            "post",
            reverse("health:set_override", args=[alice_account.pk]),
            {"override-score": "10", "override-reason": "Mine now", "override-expires_on": "2099-01-01"},
        ),
        ("post", reverse("health:revoke_override", args=[override.pk]), {}),
        ("post", reverse("playbooks:start_playbook", args=[alice_account.pk]), {"playbook": playbook.pk}),
        ("get", compose, {}),
        ("post", compose, {"subject": "Hi", "body": "Mine now"}),
        ("get", reverse("plans:create"), {"account": alice_account.pk}),
        ("post", reverse("plans:create"), {"account": alice_account.pk, "objectives": "Mine now"}),
    ]
    models = [m for m in apps.get_models() if m._meta.app_label not in {"sessions", "axes"}]
    before = {m._meta.label_lower: m._default_manager.count() for m in models}
    for method, url, data in writes:
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, f"{method.upper()} {url}: {response.status_code}"
        assert "This account belongs to another CSM" in response.content.decode(), url
    after = {m._meta.label_lower: m._default_manager.count() for m in models}
    assert before == after
    override.refresh_from_db()
    assert override.revoked_at is None


def test_a_csm_cannot_finish_or_snooze_another_csms_task(client_for, bob_other_csm, alice_account):
    from playbooks.forms import SnoozeChoice
    from tests.playbooks.factories import TaskFactory

    task = TaskFactory(account=alice_account)
    client = client_for(bob_other_csm)
    done = client.post(f"/queue/tasks/{task.pk}/done/", {"outcome": "reached", "note": "Not mine"})
    snooze = client.post(f"/queue/tasks/{task.pk}/snooze/", {"until": SnoozeChoice.CHOICES[0][0]})
    assert (done.status_code, snooze.status_code) == (404, 404)
    task.refresh_from_db()
    assert (task.status, task.snoozed_until, task.completed_by) == ("open", None, None)


def test_a_csm_cannot_edit_or_submit_another_csms_plan(client_for, bob_other_csm, alice_account):
    from tests.playbooks.factories import draft_plan_for

    plan = draft_plan_for(alice_account)
    client = client_for(bob_other_csm)
    assert client.get(f"/plans/{plan.pk}/edit/").status_code == 404
    assert client.post(f"/plans/{plan.pk}/edit/", {"objectives": "Mine now"}).status_code == 404
    assert client.post(f"/plans/{plan.pk}/submit/", {"version": plan.version}).status_code == 404
    before = (plan.status, plan.objectives, plan.version)
    plan.refresh_from_db()
    assert (plan.status, plan.objectives, plan.version) == before


def test_a_csm_who_also_interviews_cannot_interview_their_own_account(client_for, alice_csm, bob_other_csm):
    from django.contrib.auth.models import Group

    from interviews.models import ExitInterview
    from tests.interviews.factories import ChurnedAccountFactory, category

    category("product")
    alice_csm.groups.add(Group.objects.get_or_create(name="interviewer")[0])
    own = ChurnedAccountFactory(owner=alice_csm, churned_on=timezone.localdate() - timedelta(days=10))
    other = ChurnedAccountFactory(owner=bob_other_csm, churned_on=timezone.localdate() - timedelta(days=10))
    client = client_for(alice_csm)
    assert client.get(f"/interviews/accounts/{own.pk}/").status_code == 403
    assert client.post(f"/interviews/accounts/{own.pk}/autosave/", {"q_why_leave": "x"}).status_code == 403
    assert client.post(f"/interviews/accounts/{own.pk}/", {"action": "complete"}).status_code == 403
    assert not ExitInterview.objects.filter(account=own).exists()
    # The role itself works: Bob's churned account is hers to interview.
    assert client.get(f"/interviews/accounts/{other.pk}/").status_code == 200


def test_nobody_approves_their_own_plan(client_for, maria_manager, alice_account):
    from playbooks import plans
    from tests.playbooks.factories import draft_plan_for

    plan = draft_plan_for(alice_account, author=maria_manager)
    plan = plans.submit_plan(plan=plan, user=maria_manager, expected_version=plan.version)
    assert plan.status == "submitted"
    response = client_for(maria_manager).post(
        f"/plans/{plan.pk}/decide/", {"decision": "approve", "comment": "Mine.", "version": plan.version}
    )
    assert response.status_code == 403
    plan.refresh_from_db()
    assert plan.status == "submitted"
