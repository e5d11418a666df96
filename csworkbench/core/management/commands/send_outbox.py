from django.core.management.base import BaseCommand

from csworkbench.core.outbox import broker_status, pending_summary, send_pending


class Command(BaseCommand):
    help = "Send the Celery tasks waiting in the outbox (written while the broker was down)."

    def handle(self, *args, **options):
        sent = send_pending()
        left = pending_summary()["waiting"]
        self.stdout.write(f"sent {sent}, waiting {left}, broker {broker_status()}")
        if left:
            raise SystemExit(1)
