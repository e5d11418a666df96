"""`make loadtest`: 50 simulated people on the 50,000-account bench database, by role.

Each simulated user logs in once through the real login form (CSRF token and all) with its own
username, so django-axes sees one successful login per name and nothing to throttle. The users
come from `csworkbench.shell.bench_pages.ensure_load_users` (run by scripts/loadtest.sh): the bench
CSMs, and load-test managers and interviewers.

Run by scripts/loadtest.sh; by hand:
  locust -f scripts/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8001
"""

import itertools
import os
import random
import re

from locust import HttpUser, between, task

PASSWORD = "bench-password-not-secret"  # noqa: S105 -- the local benchmark dataset's users
FIRST_ACCOUNT = int(os.environ.get("LOADTEST_FIRST_ACCOUNT", "1"))
LAST_ACCOUNT = int(os.environ.get("LOADTEST_LAST_ACCOUNT", "50000"))
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

csm_names = (f"bench-csm-{n:02d}" for n in itertools.count(1))
manager_names = (f"load-manager-{n:02d}" for n in itertools.count(1))
interviewer_names = (f"load-interviewer-{n:02d}" for n in itertools.count(1))


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)  # a person reads the page before the next click
    names = iter(())

    def on_start(self) -> None:
        username = next(self.names)
        page = self.client.get("/login/", name="/login/ (form)")
        match = TOKEN.search(page.text)
        token = match.group(1) if match else ""
        with self.client.post(
            "/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"},
            name="/login/ (post)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login of {username} answered {response.status_code}")


class Csm(Person):
    weight = 20
    names = csm_names

    @task(3)
    def queue(self) -> None:
        self.client.get("/queue/")

    @task(2)
    def account_list(self) -> None:
        self.client.get("/accounts/?sort=-health_score&health_tier=medium", name="/accounts/?sort&tier")

    @task(3)
    def account(self) -> None:
        pk = random.randint(FIRST_ACCOUNT, LAST_ACCOUNT)  # noqa: S311 -- not cryptographic
        self.client.get(f"/accounts/{pk}/", name="/accounts/<pk>/")


class Manager(Person):
    weight = 15
    names = manager_names

    @task(3)
    def approvals(self) -> None:
        self.client.get("/plans/approvals/")

    @task(2)
    def team_queue(self) -> None:
        self.client.get("/queue/team/")

    @task(2)
    def reports(self) -> None:
        self.client.get("/reports/")

    @task(1)
    def review(self) -> None:
        self.client.get("/reports/review/")

    @task(1)
    def drill_down(self) -> None:
        self.client.get("/reports/interviews/?unit=month", name="/reports/interviews/")

    @task(1)
    def backtest(self) -> None:
        self.client.get("/reports/backtest/")


class Interviewer(Person):
    weight = 15
    names = interviewer_names

    @task
    def workspace(self) -> None:
        self.client.get("/interviews/")
