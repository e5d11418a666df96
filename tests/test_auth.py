import pytest
from django.urls import reverse

from tests.conftest import PASSWORD


def test_a_wrong_password_says_so_without_saying_which_part(client, alice_csm):
    wrong_password = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    wrong_user = client.post(reverse("login"), {"username": "nobody", "password": PASSWORD})
    for response in (wrong_password, wrong_user):
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("fixture", "home"),
    [
        ("alice_csm", "/queue/"),
        ("maria_manager", "/plans/approvals/"),
        ("ivan_interviewer", "/interviews/"),
        ("ada_admin", "/accounts/"),
        ("nora_no_role", "/no-role/"),
    ],
)
def test_each_role_lands_on_its_home(client, request, fixture, home):
    user = request.getfixturevalue(fixture)
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == home
    assert response.status_code == (403 if fixture == "nora_no_role" else 200)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_honours_a_safe_next_and_ignores_an_outside_one(client, alice_csm):
    inside = client.post(
        reverse("login") + "?next=/accounts/",
        {"username": "alice", "password": PASSWORD, "next": "/accounts/"},
    )
    assert inside["Location"] == "/accounts/"
    client.logout()
    outside = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert outside["Location"] == reverse("home")


def test_logout_ends_the_session(client_for, alice_csm):
    client = client_for(alice_csm)
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get("/accounts/")["Location"].startswith("/login/")


def test_the_csm_nav_shows_only_what_a_csm_may_open(client_for, alice_csm):
    content = client_for(alice_csm).get("/queue/").content.decode()
    assert 'href="/queue/"' in content
    assert 'href="/plans/approvals/"' not in content
    assert 'href="/admin/"' not in content


@pytest.mark.parametrize(
    ("fixture", "url", "status"),
    [
        ("alice_csm", "/plans/approvals/", 403),
        ("ivan_interviewer", "/queue/", 403),
        ("maria_manager", "/queue/", 200),  # managers work the tasks assigned to them
        ("alice_csm", "/interviews/", 403),
        ("maria_manager", "/interviews/", 200),
    ],
)
def test_role_homes_refuse_other_roles(client_for, request, fixture, url, status):
    assert client_for(request.getfixturevalue(fixture)).get(url).status_code == status


def test_the_interviewer_workspace_never_offers_their_own_accounts(client_for, ivan_interviewer):
    from django.utils import timezone

    from tests.factories import AccountFactory

    AccountFactory(name="Gone Co", status="churned", churned_on=timezone.localdate(), churn_type="cancelled")
    AccountFactory(
        name="Own Gone Co",
        owner=ivan_interviewer,
        status="churned",
        churned_on=timezone.localdate(),
        churn_type="cancelled",
    )
    content = client_for(ivan_interviewer).get("/interviews/").content.decode()
    assert "Gone Co" in content
    assert "Own Gone Co" not in content


def test_healthz_answers_without_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "in-process",  # no broker configured: tasks run in the request
        "outbox": {"waiting": 0, "oldest_seconds": 0},
    }


def test_healthz_reports_a_dead_database(client, db, monkeypatch):
    from django.db import OperationalError

    class DeadConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("csworkbench.shell.views.connection", DeadConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
