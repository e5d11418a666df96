import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csworkbench.settings")

app = Celery("csworkbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def recover_on_worker_start(**kwargs) -> None:
    """A worker that starts (after a crash, a deploy, a broker outage) re-queues the imports a
    dead worker left running and sends what waits in the outbox. Never stops the worker."""
    import logging

    from django.db import connections

    log = logging.getLogger("csworkbench.celery")
    try:
        from csworkbench.core.outbox import send_pending
        from ingest.jobs import requeue_interrupted_jobs

        requeued = requeue_interrupted_jobs(at_once=True)
        sent = send_pending()
        log.info("worker start: %s interrupted import(s) re-queued, %s outbox task(s) sent", requeued, sent)
    except Exception:
        log.exception("worker start: recovery failed")
    finally:
        connections.close_all()
