import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from health.alerts import raise_alerts
from health.recompute import recompute_health


class Command(BaseCommand):
    help = "Score accounts for a day (default today), replacing that day's snapshots, then raise alerts."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to score, YYYY-MM-DD (default: today)")
        parser.add_argument("--account", help="only this account's external ID")

    def handle(self, *args, **options):
        as_of = None
        if options["date"]:
            try:
                as_of = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}") from exc
        external_id = options["account"]
        if external_id and not Account.objects.filter(external_id=external_id).exists():
            raise CommandError(f"No account with external ID {external_id!r}.")
        started = time.perf_counter()
        result = recompute_health(as_of=as_of, external_id=external_id)
        alerts = raise_alerts(as_of=result.as_of, external_id=external_id, prepared=result.prepared)
        self.stdout.write(
            f"Scored {result.scored} accounts for {result.as_of} with model v{result.model_version}; "
            f"{alerts.raised} alerts raised, {alerts.resolved} resolved "
            f"in {time.perf_counter() - started:.2f} s."
        )
