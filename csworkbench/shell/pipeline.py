"""The nightly pipeline, in one place. Celery beat starts it at 02:15 (settings.CELERY_BEAT_SCHEDULE),
and publishing a health model starts it again for today:

1. score every account for the day (health.recompute.recompute_health);
2. raise and resolve the leading-indicator alerts (health.alerts.raise_alerts);
3. run the enabled rules over the day's snapshots and alerts (playbooks.rules.run_rules);
4. compute the day's health-model backtest for the reports (health.backtest).

Steps 1 and 2 are health's own task (health.tasks.nightly_health_run); steps 3 and 4 sit in rooms
above health, so this module registers them as what follows a scored day (`after_scoring`), one
chain through the outbox: a broker outage between steps loses none of them.
"""

from celery import chain
from celery.canvas import Signature

from health.tasks import after_scoring, refresh_backtest
from playbooks.tasks import run_rules


@after_scoring
def rules_then_backtest(day: str) -> Signature:
    return chain(run_rules.si(day), refresh_backtest.si(day))
