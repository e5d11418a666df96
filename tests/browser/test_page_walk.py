"""Every page each role reaches from its navigation, in every language, on a desktop and a phone.

Each test logs one demo user in (the `django_language` cookie picks the language), collects the
links of its main navigation and the inbox, adds a few detail pages reachable from them (an
account, a plan, an interview, the reports' drill-downs), and loads every one at 1440 px and at
390 px. A page fails when its text shows template syntax, its `<head>` lacks a title or the
stylesheet, it scrolls sideways, the navigation marks more than one link as the current page,
the Content-Security-Policy refuses something or the console reports an error, or any response
(the page or a subresource) is a 4xx or 5xx. All problems of a walk are reported together.

Every page is also saved as a full-page screenshot under `tests/browser/screenshots/<role>/`
(ignored by git): whoever changes a page looks at its screenshots before committing.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).parent / "screenshots"
ROLES = ("csm", "manager", "interviewer", "admin")  # the demo's users, named after their role
LANGUAGES = ("en", "zh-hant", "zh-hans")
VIEWPORTS = ((1440, 900), (390, 844))
DEMO_DAYS = 60
TEMPLATE_SYNTAX = ("{%", "%}", "{{", "}}", "{#", "#}")
# Links the walk does not follow: Django's own admin, downloads and logging out.
SKIPPED = re.compile(r"^/admin/|\.csv$|/csv/|/logout/")

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""

STATE = """() => {
  const title = document.head.querySelector("title");
  const edge = document.documentElement.clientWidth + 1;
  const sticksOut = (el) => {
    if (el.getBoundingClientRect().right <= edge) return false;
    // Inside a scroller that fits (a chart, a wide table, the phone's navigation row) it is clipped.
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") return box.getBoundingClientRect().right > edge;
    }
    return true;
  };
  return {
    text: document.body ? document.body.innerText : "",
    title: title ? title.textContent.trim() : "",
    stylesheet: document.head.querySelector("link[rel=stylesheet]") !== null,
    scrollWidth: document.documentElement.scrollWidth,
    violations: window.__cspViolations || [],
    current: document.querySelectorAll("header.topbar nav [aria-current=page]").length,
    // The innermost elements that reach past the right edge: what to fix when the page scrolls sideways.
    wide: [...document.body.querySelectorAll("*")]
      .filter((el) => sticksOut(el) && ![...el.children].some(sticksOut))
      .slice(0, 3)
      .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + [...el.classList].map((name) => "." + name).join("")
        + ` (right edge ${Math.round(el.getBoundingClientRect().right)} px)`),
  };
}"""


@pytest.fixture
def demo(settings):
    """A small demo book of business (about 3 s to seed): the pages show their real content."""
    from csworkbench.demo.seed import seed_demo
    from interviews.defaults import create_taxonomy
    from interviews.models import ReasonCategory, SubReason

    # Hashing the demo users' passwords with the real hasher would dominate the seeding.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    create_taxonomy(ReasonCategory, SubReason)  # transactional tests flush the migration's rows
    return seed_demo(accounts=40, days=DEMO_DAYS, seed=7, password=PASSWORD)


def detail_pages(role: str) -> list[tuple[str, str]]:
    """Pages the navigation leads to in a click or two, named so screenshots keep their names."""
    from accounts.models import Account
    from csworkbench.demo.stories import STORY_ACCOUNTS
    from interviews.models import ExitInterview, InterviewStatus
    from playbooks.models import MatrixRow, RetentionPlan

    at_risk = Account.objects.get(external_id=STORY_ACCOUNTS["champion_left"])
    plan = RetentionPlan.objects.filter(account=at_risk).order_by("pk").first()
    churned = Account.objects.get(external_id=STORY_ACCOUNTS["churned_price"])
    medium_playbook = MatrixRow.objects.get(risk_level="medium").playbook_id
    draft = ExitInterview.objects.filter(status=InterviewStatus.DRAFT).order_by("pk").first()
    today = timezone.localdate()
    span = f"{today - timedelta(days=DEMO_DAYS):%Y-%m}..{today:%Y-%m}"
    reports = [
        ("reports-churned", f"/reports/churned/?period={span}"),
        ("reports-interviews", f"/reports/interviews/?period={span}"),
    ]
    interviews = [
        ("interview", f"/interviews/accounts/{draft.account_id}/"),
        ("interview-done", f"/interviews/accounts/{churned.pk}/"),
    ]
    pages = {
        "csm": [("account", f"/accounts/{at_risk.pk}/"), ("plan", f"/plans/{plan.pk}/"), *reports],
        "manager": [
            ("account", f"/accounts/{at_risk.pk}/"),
            ("plan", f"/plans/{plan.pk}/"),
            ("matrix-medium", "/playbooks/matrix/medium/"),
            ("playbook", f"/playbooks/{medium_playbook}/"),
            *interviews,
            *reports,
        ],
        "interviewer": [("account", f"/accounts/{churned.pk}/"), *interviews],
        "admin": [("account", f"/accounts/{at_risk.pk}/"), *reports],
    }
    return pages[role]


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)


def navigation_pages(page) -> list[tuple[str, str]]:
    """The main navigation's links and the inbox, as (slug, path)."""
    paths = page.eval_on_selector_all(
        "header.topbar nav a[href], header.topbar a.inbox-link[href]",
        "links => links.map(link => new URL(link.href).pathname)",
    )
    assert paths, "the header has no navigation"
    return [(path.strip("/").replace("/", "-") or "home", path) for path in paths if not SKIPPED.search(path)]


def check(page, path: str, width: int) -> list[str]:
    """Load one page and say what is wrong with it."""
    failed: list[str] = []
    errors: list[str] = []

    def on_response(response):
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    def on_console(message):
        if message.type == "error":
            errors.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", on_console_exception := lambda error: errors.append(f"uncaught: {error}"))
    try:
        page.goto(path, wait_until="load")
        state = page.evaluate(STATE)
    finally:
        page.remove_listener("response", on_response)
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_console_exception)

    problems = [f"HTTP {line}" for line in failed]
    problems += [
        f"template syntax {token!r} in the text" for token in TEMPLATE_SYNTAX if token in state["text"]
    ]
    if not state["title"] or state["title"].startswith("·"):
        problems.append(f"<head> has no page title ({state['title']!r})")
    if not state["stylesheet"]:
        problems.append("<head> has no stylesheet link")
    if state["scrollWidth"] > width + 1:
        wide = ", ".join(state["wide"])
        problems.append(f"scrolls sideways: {state['scrollWidth']} px wide in a {width} px viewport ({wide})")
    if state["current"] > 1:
        problems.append(f"{state['current']} navigation links are marked as the current page")
    problems += [f"CSP: {violation}" for violation in state["violations"]]
    problems += [f"console: {error}" for error in errors]
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_renders_cleanly(browser, live_server, demo, role, language):
    width, height = VIEWPORTS[0]
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.add_init_script(WATCH)
    log_in(page, role)
    pages = navigation_pages(page) + detail_pages(role)
    folder = SCREENSHOTS / role
    folder.mkdir(parents=True, exist_ok=True)

    problems: list[str] = []
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for slug, path in pages:
            problems += [f"{path} at {width} px: {problem}" for problem in check(page, path, width)]
            page.screenshot(path=folder / f"{language}-{width}-{slug}.png", full_page=True)
    context.close()

    assert not problems, f"{role} in {language}:\n" + "\n".join(problems)
