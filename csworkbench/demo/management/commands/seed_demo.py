"""`manage.py seed_demo`: wipe the accounts and build the demo book of business."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from csworkbench.demo.stories import STORIES
from csworkbench.demo.tasks import seed_demo_data
from csworkbench.demo.users import DEMO_USERS

# How long to wait for a worker's result when a result backend is configured.
RESULT_TIMEOUT_SECONDS = 15 * 60


class Command(BaseCommand):
    help = (
        "Delete every account and create reproducible demo data (accounts, contacts, touchpoints, "
        "MRR movements, daily health metrics, scores and alerts) plus the demo users. Refuses to "
        "run with DEBUG off unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=400, help="number of accounts (default 400)")
        parser.add_argument("--days", type=int, default=365, help="days of history (default 365)")
        parser.add_argument("--seed", type=int, default=7, help="random seed; same seed, same data")
        parser.add_argument("--password", default="workbench", help="password of every demo user")
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (destroys every account!)"
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing when accounts already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to seed demo data with DEBUG off: it deletes every account. "
                "If this really is a demo database, run again with --force."
            )
        if options["accounts"] < 1 or options["days"] < 1:
            raise CommandError("--accounts and --days must be at least 1.")
        if options["if_empty"] and Account.objects.exists():
            self.stdout.write("Accounts already exist: reusing the existing demo data (no changes made).")
            self._print_logins(options["password"])
            return

        kwargs = {key: options[key] for key in ("accounts", "days", "seed", "password")}
        started = time.monotonic()
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            counts = seed_demo_data.apply(kwargs=kwargs).get()
        else:
            result = seed_demo_data.delay(**kwargs)
            if not getattr(settings, "CELERY_RESULT_BACKEND", None):
                # Without a result backend there is nothing to wait on: the worker's log has the rest.
                self.stdout.write(f"Seeding queued as task {result.id}; a Celery worker will run it.")
                self._print_logins(options["password"])
                return
            self.stdout.write(f"Seeding queued as task {result.id}; waiting for the worker...")
            counts = result.get(timeout=RESULT_TIMEOUT_SECONDS)
        elapsed = time.monotonic() - started

        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['accounts']} accounts, {counts['contacts']} contacts, "
                f"{counts['touchpoints']} touchpoints, {counts['mrr_movements']} MRR movements, "
                f"{counts.get('metrics', 0)} daily metrics and {counts.get('snapshots', 0)} health "
                f"snapshots ({counts.get('alerts', 0)} alerts) in {elapsed:.1f} s."
            )
        )
        self.stdout.write("Story accounts: " + ", ".join(f"{s.external_id} ({s.key})" for s in STORIES))
        self._print_logins(options["password"])

    def _print_logins(self, password: str) -> None:
        rows = [("username", "role", "password", "lands on")]
        rows += [(user.username, user.group, password, user.landing) for user in DEMO_USERS]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("\nDemo logins:")
        for row in rows:
            self.stdout.write(
                ("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
            )
