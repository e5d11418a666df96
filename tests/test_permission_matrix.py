"""Who may open what: every URL in the URL conf × every role, against a table of expectations.

The walk reads the resolver (as tests/test_login_required.py does), so a new URL name that is
not in `EXPECTED` fails `test_every_url_name_has_an_expectation`: add it to the table. Path
parameters are filled with real rows — Alice's account, her task, her plan, a rule, an import —
so object-level checks run, not only the role decorators.

Each GET is sent as each role; views that answer only POST are also POSTed with an empty body,
which must never write anything nor fail with a 500.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.factories import UserFactory

ROLES = ("anonymous", "alice", "bob", "maria", "ivan", "ada", "nora")

# Role sets, by the people of tests/conftest.py: Alice is a CSM and owns the objects in the
# paths, Bob another CSM, Maria a manager (of no team, so of everyone), Ivan an interviewer,
# Ada an admin, Nora a user without a role.
EVERYONE = frozenset(ROLES) - {"anonymous"}
WITH_A_ROLE = EVERYONE - {"nora"}
STAFF = frozenset({"alice", "bob", "maria", "ada"})
CSMS_AND_MANAGERS = frozenset({"alice", "bob", "maria"})
CSMS_MANAGERS_ADMINS = STAFF
MANAGERS = frozenset({"maria"})
MANAGERS_AND_ADMINS = frozenset({"maria", "ada"})
INTERVIEWERS_AND_MANAGERS = frozenset({"maria", "ivan"})
OWNER_AND_ABOVE = frozenset({"alice", "maria", "ada"})  # who may change Alice's things
OWNER_AND_MANAGERS = frozenset({"alice", "maria"})
CSMS_ONLY = frozenset({"alice", "bob"})

# An empty POST to a view the role may use: a redirect back, a form error, a conflict or "no such
# choice" — never 200 with a change, never a 500.
REFUSED_POST = frozenset({302, 400, 404, 409, 422})


@dataclass(frozen=True)
class Expect:
    """Allowed roles get `ok` (a status or a set), anonymous a redirect to the login page, and
    everyone else `denied` (403 unless `hidden` says 404 for some roles)."""

    allowed: frozenset
    method: str = "GET"  # "POST" for views that answer POST only
    ok: int | frozenset = 200
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
            return self.ok if self.method == "GET" else REFUSED_POST
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
    "set_language": action(EVERYONE, anonymous=302, ok=302),
    "survey:answer": page(EVERYONE, anonymous=200),  # the signed link is the credential
    "api:metrics": page(EVERYONE, anonymous=405, ok=405),  # bearer token, POST only; JSON 405
    # --- every signed-in user ------------------------------------------------------------------
    "home": page(EVERYONE, ok=302),  # to the role's start page (Nora's: no_role)
    "no_role": page(EVERYONE),
    "notifications:inbox": page(EVERYONE),
    "notifications:read_all": action(EVERYONE),
    # Notifications are per recipient: Alice's is nobody else's.
    "notifications:read": action({"alice"}, hidden=EVERYONE - {"alice"}),
    # --- staff: CSMs, managers, admins ---------------------------------------------------------
    "accounts:list": page(STAFF),
    "accounts:export": page(STAFF),
    # Interviewers read an account's basics (they interview churned ones); Nora sees none.
    "accounts:detail": page(WITH_A_ROLE, hidden={"nora"}),
    "health:chart": page(STAFF, hidden={"nora"}),
    "playbooks:matrix": page(STAFF),
    "reports:index": page(STAFF),
    "reports:csv": page(STAFF),
    "reports:interviews": page(STAFF),
    "reports:review": page(STAFF),
    # --- Alice's account, her task, her plan: the owner, managers and admins -------------------
    "accounts:log_touchpoint": action(OWNER_AND_ABOVE, hidden={"nora"}),
    "health:set_override": action(OWNER_AND_ABOVE, hidden={"nora"}),
    "health:revoke_override": action(OWNER_AND_ABOVE, hidden={"nora"}),
    "playbooks:start_playbook": action(OWNER_AND_ABOVE, hidden={"nora"}),
    "notifications:compose": page(OWNER_AND_ABOVE - {"ada"} | {"ada"}, hidden={"nora"}),
    "playbooks:task_done": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "playbooks:task_snooze": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "playbooks:task_touchpoint": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "playbooks:task_signoff": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:detail": page(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:edit": page(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:submit": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:activate": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:close": action(OWNER_AND_ABOVE, hidden={"bob"}),
    "plans:create": page(CSMS_AND_MANAGERS),
    # --- CSMs only -----------------------------------------------------------------------------
    "playbooks:queue": page(CSMS_ONLY),
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
    "notifications:template_preview": action(MANAGERS_AND_ADMINS),
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
    # --- action items from the reviews ---------------------------------------------------------
    "reports:actions": page(MANAGERS_AND_ADMINS | {"ivan"}),
    "reports:action_create": page(MANAGERS_AND_ADMINS | {"ivan"}),
    "reports:action_edit": page(MANAGERS_AND_ADMINS | {"ivan"}),
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
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (
                entry.namespace or namespace
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


@pytest.fixture
def world(alice_csm, bob_other_csm, maria_manager, ivan_interviewer, ada_admin, nora_no_role, alice_account):
    from accounts.models import ImportJob
    from health.models import HealthModel
    from interviews.models import ReasonCategory, SubReason
    from interviews.services import invite_to_survey, start_interview
    from playbooks.models import Delivery, EmailTemplate, Notification
    from tests.health.factories import HealthOverrideFactory
    from tests.interviews.factories import ActionItemFactory, ChurnedAccountFactory, category
    from tests.playbooks.factories import PlaybookFactory, RuleFactory, TaskFactory, draft_plan_for

    churned = ChurnedAccountFactory(
        name="Brightpath Tutoring", owner=alice_csm, churned_on=timezone.localdate() - timedelta(days=21)
    )
    category("product")  # the shipped taxonomy
    survey_account = ChurnedAccountFactory(owner=bob_other_csm)
    interview = start_interview(account=survey_account, interviewer=ivan_interviewer)
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
    sub_reason = SubReason.objects.order_by("pk").first()
    objects = {
        "account": alice_account,
        "churned": churned,
        "task": TaskFactory(account=alice_account),
        "plan": draft_plan_for(alice_account),
        "rule": RuleFactory(),
        "playbook": PlaybookFactory(),
        "job": job,
        "override": HealthOverrideFactory(account=alice_account, created_by=alice_csm),
        "model": HealthModel.objects.get(status="published"),
        "notification": notification,
        "delivery": Delivery.objects.create(
            channel="email", notification=notification, to="alice@example.com", status="failed"
        ),
        "template": template,
        "category": ReasonCategory.objects.order_by("pk").first(),
        "sub_reason": sub_reason,
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


# Which row fills a path parameter, by URL name (or by namespace) and parameter.
PARAMS = {
    "accounts:": {"pk": "account"},
    "health:revoke_override": {"pk": "override"},
    "health:": {"pk": "account"},
    "imports:": {"pk": "job"},
    "health_models:": {"version": "model"},
    "playbooks:start_playbook": {"pk": "account"},
    "playbooks:playbook_edit": {"pk": "playbook"},
    "playbooks:": {"pk": "task", "risk_level": "high"},
    "plans:": {"pk": "plan"},
    "rules:": {"pk": "rule"},
    "notifications:read": {"pk": "notification"},
    "notifications:retry": {"pk": "delivery"},
    "notifications:template_edit": {"pk": "template"},
    "notifications:": {"account_pk": "account"},
    "interviews:sub_reason_": {"pk": "sub_reason", "category_pk": "category"},
    "interviews:category_": {"pk": "category"},
    "interviews:": {"account_pk": "churned"},
    "reports:csv": {"table": "logo"},
    "reports:": {"pk": "action_item"},
    "survey:": {"token": "token"},
    "admin:": {"app_label": "accounts", "model_name": "account", "object_id": "account", "url": "x"},
}


def fill(route: Route, objects: dict) -> str:
    choices = next(value for prefix, value in sorted(PARAMS.items(), key=lambda kv: -len(kv[0]))
                   if route.name.startswith(prefix)) if any(
        route.name.startswith(prefix) for prefix in PARAMS) else {}

    def value(match: re.Match) -> str:
        name = match.group(1)
        source = choices.get(name)
        assert source is not None, f"no value for <{name}> in {route.name} ({route.template}): add to PARAMS"
        row = objects.get(source, source)
        if source == "model":
            return str(row.version)
        return str(row.pk) if hasattr(row, "pk") else str(row)

    return re.sub(r"<(?:\w+:)?(\w+)>", value, route.template)


def status_of(client, users, role, method, path) -> int:
    client.logout()
    if role != "anonymous":
        client.force_login(users[role])
    send = client.get if method == "GET" else client.post
    return send(path).status_code


def matches(expected, got: int) -> bool:
    return got in expected if isinstance(expected, frozenset) else got == expected


# --- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_gets_the_expected_status(client, world, name):
    users, objects = world
    route = NAMED[name]
    expect = EXPECTED[name]
    path = fill(route, objects)
    wrong = []
    for role in ROLES:
        got = status_of(client, users, role, expect.method, path)
        want = expect.status_for(role)
        assert got < 500, f"{expect.method} {path} as {role}: {got}"
        if not matches(want, got):
            wrong.append(f"{role}: got {got}, expected {sorted(want) if isinstance(want, frozenset) else want}")
    assert not wrong, f"{expect.method} {path} ({name})\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("name", sorted(name for name, e in EXPECTED.items() if e.method == "POST"))
def test_an_empty_post_writes_nothing(client, world, name):
    """A POST-only view, sent an empty body by every role, leaves every table as it was."""
    from django.apps import apps

    users, objects = world
    path = fill(NAMED[name], objects)
    # Logging out and in and the audit of a refusal are not the object's data.
    ignored = {"sessions.session", "axes.accessattempt", "axes.accesslog", "csworkbench.auditevent"}
    models = [m for m in apps.get_models() if m._meta.label_lower not in ignored]
    before = {m._meta.label_lower: m._default_manager.count() for m in models}
    for role in ROLES:
        status_of(client, users, role, "POST", path)
    after = {m._meta.label_lower: m._default_manager.count() for m in models}
    changed = {label: (before[label], after[label]) for label in before if before[label] != after[label]}
    if name == "set_language" or name == "logout":
        changed = {}
    assert not changed, f"an empty POST to {path} changed {changed}"


@pytest.mark.parametrize("route", ADMIN_ROUTES[:0] or [r for r in ADMIN_ROUTES if "<" not in r.template],
                         ids=lambda r: r.name)
def test_the_admin_is_for_staff_only(client, world, route):
    users, objects = world
    path = fill(route, objects)
    for role in ROLES:
        got = status_of(client, users, role, "GET", path)
        if role == "ada":
            assert got in {200, 302}, f"GET {path} as ada: {got}"
        else:
            assert got == 302, f"GET {path} as {role}: {got}"
