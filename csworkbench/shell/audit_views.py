"""The audit log for managers and admins: who did which sensitive thing, newest first,
filtered by kind of action, person, account and dates, and downloadable as CSV."""

import json
from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from csworkbench.core.audit import action_label, describe
from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.models import AuditEvent
from csworkbench.core.roles import Role, role_required
from csworkbench.core.widgets import IsoDateInput

AUDIT_ROLES = (Role.MANAGER, Role.ADMIN)
PAGE_SIZE = 50

# The kinds of action, by prefix of AuditEvent.action.
ACTION_PREFIXES = [
    ("", gettext_lazy("All actions")),
    ("health_model.", gettext_lazy("Health model")),
    ("health_override.", gettext_lazy("Health overrides")),
    ("plan.", gettext_lazy("Retention plans")),
    ("role.", gettext_lazy("Role changes")),
    ("import", gettext_lazy("Imports")),
    ("api_token.", gettext_lazy("API tokens")),
    ("rule.", gettext_lazy("Rules")),
    ("task.", gettext_lazy("Tasks")),
    ("interview.", gettext_lazy("Interviews")),
    ("email", gettext_lazy("Emails")),
]


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTION_PREFIXES, required=False)
    actor = forms.ModelChoiceField(
        label=gettext_lazy("Who"),
        queryset=get_user_model().objects.order_by("username"),
        required=False,
        empty_label=gettext_lazy("Anyone"),
    )
    account = forms.CharField(label=gettext_lazy("Account name contains"), max_length=100, required=False)
    since = forms.DateField(label=gettext_lazy("On or after"), required=False, widget=IsoDateInput())
    until = forms.DateField(label=gettext_lazy("On or before"), required=False, widget=IsoDateInput())

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_events(form: AuditFilterForm) -> QuerySet[AuditEvent]:
    """The events a valid filter form selects, newest first, with who and which account."""
    events = AuditEvent.objects.select_related("actor", "account").order_by("-at", "-id")
    data = form.cleaned_data
    if data.get("action"):
        events = events.filter(action__startswith=data["action"])
    if data.get("actor"):
        events = events.filter(actor=data["actor"])
    if data.get("account"):
        events = events.filter(account__name__icontains=data["account"])
    if data.get("since"):
        events = events.filter(at__gte=_start_of(data["since"]))
    if data.get("until"):
        events = events.filter(at__lt=_start_of(data["until"] + timedelta(days=1)))
    return events


@require_GET
@role_required(*AUDIT_ROLES)
def audit_list(request: HttpRequest) -> HttpResponse:
    # Every filter is optional: no query string at all is a valid form showing everything.
    form = AuditFilterForm(request.GET)
    events = filtered_events(form) if form.is_valid() else AuditEvent.objects.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # Each event in words: the action's name and "field: old → new", in the reader's language.
    entries = [(event, action_label(event.action), describe(event.details)) for event in page]
    context = {"form": form, "page": page, "entries": entries, "query": query.urlencode()}
    template = "shell/audit_list.html#results" if request.htmx else "shell/audit_list.html"
    return render(request, template, context, status=422 if form.errors else 200)


@require_GET
@role_required(*AUDIT_ROLES)
def audit_export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("The filters are not valid."), status=400, content_type="text/plain")

    def rows():
        yield [_("When"), _("Who"), _("Action"), _("Account"), _("Target"), _("Details")]
        for event in filtered_events(form).iterator(chunk_size=2000):
            yield [
                neutralise(timezone.localtime(event.at).isoformat()),
                neutralise(event.actor.get_username() if event.actor else ""),
                neutralise(event.action),
                neutralise(event.account.name if event.account else ""),
                neutralise(event.target),
                neutralise(json.dumps(event.details, ensure_ascii=False, sort_keys=True, default=str)),
            ]

    return csv_download(rows(), filename=f"audit-{timezone.localdate():%Y%m%d}.csv")
