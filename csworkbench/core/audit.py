"""The audit log in words: what each action code means, and what changed (field: old → new), in
the reader's language.

Writers record a change with `changes_between(before, after)` — `{"changes": {field: [old, new]},
"model": "app.model"}` in the event's details — so the reader sees each field's own (translated)
name, and choices by their label. Older events, and details of any other shape, are shown as
"name: value" with lists joined and yes/no for booleans. Nothing here queries the database.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Fields that change on every save or say nothing a reader needs.
SKIPPED_FIELDS = frozenset({"id", "created_at", "updated_at", "updated_by", "created_by"})

ACTION_LABELS = {
    "action_item.raised": gettext_lazy("Action item raised"),
    "action_item.updated": gettext_lazy("Action item updated"),
    "api_token.create": gettext_lazy("API token created"),
    "api_token.revoke": gettext_lazy("API token revoked"),
    "delivery.retry": gettext_lazy("Delivery retried"),
    "email.send": gettext_lazy("Customer email sent"),
    "email_template.change": gettext_lazy("Email template changed"),
    "email_template.create": gettext_lazy("Email template created"),
    "health_model.draft_created": gettext_lazy("Health-model draft created"),
    "health_model.draft_discarded": gettext_lazy("Health-model draft discarded"),
    "health_model.draft_updated": gettext_lazy("Health-model draft changed"),
    "health_model.published": gettext_lazy("Health model published"),
    "health_override.revoke": gettext_lazy("Health override removed"),
    "health_override.set": gettext_lazy("Health override set"),
    "import": gettext_lazy("File imported"),
    "interview.complete": gettext_lazy("Exit interview completed"),
    "interview.edit": gettext_lazy("Exit interview edited"),
    "interview.start": gettext_lazy("Exit interview started"),
    "interview.survey_answered": gettext_lazy("Exit survey answered"),
    "interview.survey_invite": gettext_lazy("Exit survey sent"),
    "matrix.update": gettext_lazy("Intervention matrix changed"),
    "plan.active": gettext_lazy("Plan put in motion"),
    "plan.approved": gettext_lazy("Plan approved"),
    "plan.changes_requested": gettext_lazy("Plan sent back for changes"),
    "plan.closed": gettext_lazy("Plan closed"),
    "plan.draft": gettext_lazy("Plan drafted"),
    "plan.edit": gettext_lazy("Plan edited"),
    "plan.first_approval": gettext_lazy("Plan's first approval"),
    "plan.policy": gettext_lazy("Approval limits changed"),
    "plan.rejected": gettext_lazy("Plan rejected"),
    "plan.submitted": gettext_lazy("Plan submitted"),
    "playbook.save": gettext_lazy("Playbook saved"),
    "playbook.start": gettext_lazy("Playbook started"),
    "reason_category.create": gettext_lazy("Reason category created"),
    "reason_category.deactivate": gettext_lazy("Reason category retired"),
    "reason_category.delete": gettext_lazy("Reason category deleted"),
    "reason_category.update": gettext_lazy("Reason category changed"),
    "role.change": gettext_lazy("Roles changed"),
    "rule.change": gettext_lazy("Rule changed"),
    "rule.create": gettext_lazy("Rule created"),
    "rule.delete": gettext_lazy("Rule deleted"),
    "rule.disable": gettext_lazy("Rule switched off"),
    "rule.enable": gettext_lazy("Rule switched on"),
    "rule.fire": gettext_lazy("Rule fired"),
    "sub_reason.create": gettext_lazy("Sub-reason created"),
    "sub_reason.deactivate": gettext_lazy("Sub-reason retired"),
    "sub_reason.delete": gettext_lazy("Sub-reason deleted"),
    "sub_reason.update": gettext_lazy("Sub-reason changed"),
    "task.breach": gettext_lazy("Task breached its SLA"),
    "task.cancel": gettext_lazy("Task cancelled"),
    "task.done": gettext_lazy("Task done"),
    "task.reassign": gettext_lazy("Task reassigned"),
    "task.request_signoff": gettext_lazy("Sign-off requested"),
    "task.snooze": gettext_lazy("Task snoozed"),
}


# Names of the other details services record, in the reader's language.
DETAIL_LABELS = {
    "accounts": gettext_lazy("Accounts"),
    "added": gettext_lazy("Added"),
    "as_of": gettext_lazy("As of"),
    "assignee": gettext_lazy("Assignee"),
    "attempts": gettext_lazy("Attempts"),
    "based_on": gettext_lazy("Based on version"),
    "changed": gettext_lazy("Changed"),
    "comment": gettext_lazy("Comment"),
    "enabled": gettext_lazy("Switched on"),
    "fields": gettext_lazy("Fields"),
    "from_status": gettext_lazy("From"),
    "is_active": gettext_lazy("Active"),
    "is_staff": gettext_lazy("Staff"),
    "is_superuser": gettext_lazy("Superuser"),
    "kind": gettext_lazy("Kind"),
    "language": gettext_lazy("Language"),
    "note": gettext_lazy("Note"),
    "previous": gettext_lazy("Before"),
    "reason": gettext_lazy("Reason"),
    "removed": gettext_lazy("Removed"),
    "retired": gettext_lazy("Retired"),
    "rows": gettext_lazy("Rows"),
    "rule": gettext_lazy("Rule"),
    "score": gettext_lazy("Score"),
    "tasks": gettext_lazy("Tasks"),
    "team": gettext_lazy("Team"),
    "template": gettext_lazy("Template"),
    "title": gettext_lazy("Title"),
    "to": gettext_lazy("To"),
    "version": gettext_lazy("Version"),
    "via": gettext_lazy("Via"),
}


def action_label(code: str) -> str:
    """The action in the reader's language; an unknown code as it is."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def _stored(field: models.Field, instance: models.Model) -> Any:
    """A field's value as JSON can keep it."""
    if field.is_relation:
        related = getattr(instance, field.name, None)
        return None if related is None else str(related)
    value = field.value_from_object(instance)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return value


def changes_between(before: models.Model | None, after: models.Model, *, fields=None) -> dict:
    """Audit details naming each field that differs between two versions of a row: old → new.
    `before` None (a new row) lists nothing: the action says it was created."""
    if before is None:
        return {}
    changes = {}
    for field in after._meta.concrete_fields:
        if field.name in SKIPPED_FIELDS or (fields is not None and field.name not in fields):
            continue
        old, new = _stored(field, before), _stored(field, after)
        if old != new:
            changes[field.name] = [old, new]
    if not changes:
        return {}
    return {"model": after._meta.label_lower, "changes": changes}


def _shown(value: Any, field: models.Field | None = None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_shown(item)}" for key, item in value.items())
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return str(value)


def _field(model_label: str | None, name: str) -> models.Field | None:
    if not model_label:
        return None
    try:
        return apps.get_model(model_label)._meta.get_field(name)
    except (LookupError, FieldDoesNotExist, ValueError):
        return None


def describe(details: dict) -> list[str]:
    """The lines a reader sees for an event's details: "Field: old → new" for each change, then
    "name: value" for anything else recorded."""
    details = details or {}
    model_label = details.get("model")
    lines = []
    for name, pair in (details.get("changes") or {}).items():
        field = _field(model_label, name)
        label = str(field.verbose_name) if field is not None else name
        old, new = [*pair, None, None][:2] if isinstance(pair, list | tuple) else (None, pair)
        lines.append(
            _("%(field)s: %(old)s → %(new)s")
            % {"field": label[:1].upper() + label[1:], "old": _shown(old, field), "new": _shown(new, field)}
        )
    for name, value in details.items():
        if name in ("changes", "model"):
            continue
        label = DETAIL_LABELS.get(name)
        lines.append(
            _("%(field)s: %(value)s")
            % {"field": str(label) if label is not None else name, "value": _shown(value)}
        )
    return lines
