"""Email to a customer from a room below the delivery queue.

The delivery queue (one Delivery row per message, sent by Celery with retries, a failure told to
someone in the app) belongs to playbooks, which sits above interviews. Interviews sends its survey
invitations through `queue_email`, and playbooks fills it in when the app registry is ready
(`PlaybooksConfig.ready`): the one place where a lower room reaches a higher room's service, by
a port the kernel declares, not by an import.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

EmailQueue = Callable[..., Any]
_queue: EmailQueue | None = None


def register_email_queue(queue: EmailQueue) -> None:
    global _queue
    _queue = queue


def queue_email(*, to: str, subject: str, body: str, payload: dict[str, Any]) -> Any:
    """Queue one email; it goes once the current transaction commits. `payload` travels with it
    (a survey invitation's id, for the link minted at send time)."""
    if _queue is None:
        raise ImproperlyConfigured("No delivery queue is registered: is the playbooks app installed?")
    return _queue(to=to, subject=subject, body=body, payload=payload)
