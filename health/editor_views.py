"""The health-model editor's pages: versions, one version, the draft editor, preview, publish.

Managers and admins only. Every write goes through `health.editor`.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from csworkbench.core.roles import role_required

from . import editor
from .models import HealthDimension, HealthMeasure, HealthModel, Interpolation, ModelStatus

PREVIEW_LIMIT = 50

# What each measure's raw value is, in the words of DESIGN.md, so a manager knows what the band
# points are points of.
MEASURE_HELP = {
    "login_trend": gettext_lazy("Mean daily logins in the last 14 days ÷ the 60 days before."),
    "seat_utilisation": gettext_lazy("Mean daily active users over 30 days ÷ licensed seats."),
    "core_feature_trend": gettext_lazy("Core-feature events per day, last 30 days ÷ the 60 days before."),
    "feature_breadth": gettext_lazy("Distinct features used in 30 days ÷ features offered."),
    "ticket_anomaly": gettext_lazy(
        "Tickets in 30 days ÷ the monthly mean of the 90 days before. An account that used to open "
        "2 or more tickets a month and went silent scores 60, whatever the bands say."
    ),
    "csat": gettext_lazy("Mean CSAT response (1–5) over 90 days."),
    "open_high_priority": gettext_lazy("High-priority tickets open now."),
    "invoice_overdue": gettext_lazy("Days the invoice is overdue."),
    "touch_recency": gettext_lazy("Days since the last touchpoint ÷ the value tier's touch cadence."),
    "champion_present": gettext_lazy("1 when a champion contact is still there, 0 when none is."),
    "latest_nps": gettext_lazy("The latest NPS response (0–10)."),
    "email_open_rate": gettext_lazy(
        "Marketing emails opened ÷ sent over 90 days (0.4 means 4 in 10 were opened)."
    ),
    "training": gettext_lazy("Training or webinar sessions attended in 90 days."),
    "release_notes": gettext_lazy("Release-notes views in 30 days."),
}


def _label(model_class: type, name: str) -> str:
    return capfirst(model_class._meta.get_field(name).verbose_name)


def _help(model_class: type, name: str) -> str:
    return model_class._meta.get_field(name).help_text


def _dimensions(model: HealthModel) -> list[HealthDimension]:
    return list(
        model.dimensions.prefetch_related(
            Prefetch("measures", queryset=HealthMeasure.objects.order_by("position"))
        )
    )


class DraftForm(forms.Form):
    """Parses the editor's inputs; `health.editor.update_draft` judges them."""

    def __init__(self, *args: Any, model: HealthModel, dimensions: list[HealthDimension], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.dimensions = dimensions
        decimal = {"inputmode": "decimal", "step": "any"}
        whole = {"inputmode": "numeric"}
        self.fields["note"] = forms.CharField(
            label=_label(HealthModel, "note"), required=False, max_length=300
        )
        self.initial["note"] = model.note
        self.fields["dimension_weights"] = forms.CharField(required=False, widget=forms.HiddenInput)
        for dimension in dimensions:
            name = f"dimension_{dimension.key}"
            self.fields[name] = forms.IntegerField(
                label=dimension.get_key_display(),
                min_value=0,
                max_value=editor.MAX_DIMENSION_WEIGHT,
                widget=forms.NumberInput(attrs=whole),
            )
            self.initial[name] = dimension.weight
            for measure in dimension.measures.all():
                key, label = measure.key, measure.get_key_display()
                self.fields[f"{key}_weight"] = forms.DecimalField(
                    label=_label(HealthMeasure, "weight"),
                    help_text=_help(HealthMeasure, "weight"),
                    min_value=0,
                    max_value=editor.MAX_MEASURE_WEIGHT,
                    decimal_places=2,
                    widget=forms.NumberInput(attrs=decimal),
                )
                self.fields[f"{key}_interpolation"] = forms.ChoiceField(
                    label=_label(HealthMeasure, "interpolation"), choices=Interpolation.choices
                )
                self.fields[f"{key}_bands"] = forms.CharField(required=False, widget=forms.HiddenInput)
                self.initial.update(
                    {f"{key}_weight": measure.weight, f"{key}_interpolation": measure.interpolation}
                )
                for row in range(self.band_rows(measure)):
                    names = {"measure": label, "number": row + 1}
                    self.fields[f"{key}_raw_{row}"] = forms.FloatField(
                        label=_("%(measure)s, point %(number)s: raw value") % names,
                        required=False,
                        widget=forms.NumberInput(attrs=decimal),
                    )
                    self.fields[f"{key}_sub_{row}"] = forms.FloatField(
                        label=_("%(measure)s, point %(number)s: sub-score") % names,
                        required=False,
                        widget=forms.NumberInput(attrs=decimal),
                    )
                    if row < len(measure.bands):
                        raw, sub = measure.bands[row]
                        self.initial.update({f"{key}_raw_{row}": raw, f"{key}_sub_{row}": sub})
        for name, (low, high) in editor.PARAMETER_RANGES.items():
            self.fields[name] = forms.IntegerField(
                label=_label(HealthModel, name),
                min_value=low,
                max_value=high,
                help_text=_help(HealthModel, name),
                widget=forms.NumberInput(attrs=whole),
            )
            self.initial[name] = getattr(model, name)

    @staticmethod
    def band_rows(measure: HealthMeasure) -> int:
        """Room for every point plus two empty rows to add points."""
        return min(max(len(measure.bands) + 2, 4), editor.MAX_BAND_POINTS)

    def measures(self):
        return [m for d in self.dimensions for m in d.measures.all()]

    def clean(self) -> dict:
        cleaned = super().clean()
        for measure in self.measures():
            points, broken = [], False
            for row in range(self.band_rows(measure)):
                raw_name, sub_name = f"{measure.key}_raw_{row}", f"{measure.key}_sub_{row}"
                if raw_name in self.errors or sub_name in self.errors:
                    broken = True
                    continue
                raw, sub = cleaned.get(raw_name), cleaned.get(sub_name)
                if raw is None and sub is None:
                    continue
                if raw is None or sub is None:
                    self.add_error(
                        f"{measure.key}_bands",
                        _("Point %(number)s needs both a raw value and a sub-score.") % {"number": row + 1},
                    )
                    broken = True
                    continue
                points.append([raw, sub])
            if broken:
                continue
            try:
                cleaned[f"{measure.key}_bands"] = editor.clean_bands(points)
            except ValidationError as error:
                self.add_error(f"{measure.key}_bands", error)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "note": data["note"],
            "dimension_weights": {d.key: data[f"dimension_{d.key}"] for d in self.dimensions},
            "measures": {
                m.key: {
                    "weight": data[f"{m.key}_weight"],
                    "bands": data[f"{m.key}_bands"],
                    "interpolation": data[f"{m.key}_interpolation"],
                }
                for m in self.measures()
            },
            **{name: data[name] for name in editor.PARAMETER_RANGES},
        }

    def add_service_errors(self, error: ValidationError) -> None:
        for name, problems in error.message_dict.items():
            self.add_error(name if name in self.fields else None, problems)

    def layout(self) -> list[dict]:
        """The bound fields grouped the way the page shows them: dimension, measure, band rows."""
        return [
            {
                "dimension": dimension,
                "weight": self[f"dimension_{dimension.key}"],
                "measures": [
                    {
                        "measure": measure,
                        "help": MEASURE_HELP.get(measure.key, ""),
                        "weight": self[f"{measure.key}_weight"],
                        "interpolation": self[f"{measure.key}_interpolation"],
                        "bands": self[f"{measure.key}_bands"],
                        "rows": [
                            (row + 1, self[f"{measure.key}_raw_{row}"], self[f"{measure.key}_sub_{row}"])
                            for row in range(self.band_rows(measure))
                        ],
                    }
                    for measure in dimension.measures.all()
                ],
            }
            for dimension in self.dimensions
        ]

    def parameters(self) -> list[forms.BoundField]:
        return [self[name] for name in editor.PARAMETER_RANGES]


def weight_table(dimensions: list[HealthDimension]) -> list[dict]:
    """Each dimension and measure with its share of the whole score, in percent."""
    total = sum(d.weight for d in dimensions) or 1
    rows = []
    for dimension in dimensions:
        measures = list(dimension.measures.all())
        shares = sum(float(m.weight) for m in measures) or 1
        percent = dimension.weight / total * 100
        rows.append(
            {
                "dimension": dimension,
                "percent": percent,
                "measures": [
                    {
                        "measure": m,
                        "percent": percent * float(m.weight) / shares,
                        "help": MEASURE_HELP.get(m.key),
                    }
                    for m in measures
                ],
            }
        )
    return rows


def get_version(version: int) -> HealthModel:
    return get_object_or_404(
        HealthModel.objects.select_related("created_by", "published_by"), version=version
    )


def get_draft_or_redirect(request: HttpRequest, version: int) -> tuple[HealthModel, HttpResponse | None]:
    model = get_version(version)
    if model.status == ModelStatus.DRAFT:
        return model, None
    messages.info(request, _("Version %(version)s is not a draft any more.") % {"version": version})
    url = reverse("health_models:detail", args=[version])
    return model, HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
@role_required(*editor.EDITOR_ROLES)
def model_list(request: HttpRequest) -> HttpResponse:
    models = list(HealthModel.objects.select_related("created_by", "published_by").order_by("-version"))
    draft = next((m for m in models if m.status == ModelStatus.DRAFT), None)
    published = next((m for m in models if m.status == ModelStatus.PUBLISHED), None)
    return render(
        request, "health/model_list.html", {"models": models, "draft": draft, "published": published}
    )


@require_GET
@role_required(*editor.EDITOR_ROLES)
def model_detail(request: HttpRequest, version: int) -> HttpResponse:
    model = get_version(version)
    return render(request, "health/model_detail.html", detail_context(model))


def detail_context(model: HealthModel, confirm: str = "") -> dict:
    return {
        "model": model,
        "weights": weight_table(_dimensions(model)),
        "parameters": [(_label(HealthModel, name), getattr(model, name)) for name in editor.PARAMETER_RANGES],
        "draft": editor.current_draft(),
        "confirm": confirm,
    }


@require_POST
@role_required(*editor.EDITOR_ROLES)
def draft_start(request: HttpRequest) -> HttpResponse:
    existing = editor.current_draft()
    based_on = None
    if request.POST.get("based_on", "").isdigit():
        based_on = get_version(int(request.POST["based_on"]))
    draft = editor.create_draft(user=request.user, based_on=based_on)
    if existing is not None:
        messages.info(request, _("There is already a draft: carry on with it."))
    else:
        messages.success(request, _("Draft version %(version)s started.") % {"version": draft.version})
    return redirect("health_models:edit", version=draft.version)


def edit_context(model: HealthModel, form: DraftForm, **extra: Any) -> dict:
    return {"model": model, "form": form, **extra}


@require_http_methods(["GET", "POST"])
@role_required(*editor.EDITOR_ROLES)
def model_edit(request: HttpRequest, version: int) -> HttpResponse:
    model, elsewhere = get_draft_or_redirect(request, version)
    if elsewhere:
        return elsewhere
    if request.method == "GET":
        form = DraftForm(model=model, dimensions=_dimensions(model))
        return render(request, "health/model_edit.html", edit_context(model, form))
    form = DraftForm(request.POST, model=model, dimensions=_dimensions(model))
    template = "health/model_edit.html#editor" if request.htmx else "health/model_edit.html"
    if form.is_valid():
        try:
            model = editor.update_draft(model=model, user=request.user, **form.service_kwargs())
        except ValidationError as error:
            if getattr(error, "code", None) == "not_draft":
                return get_draft_or_redirect(request, version)[1]
            form.add_service_errors(error)
        else:
            return draft_saved(request, model)
    return render(request, template, edit_context(model, form), status=422)


def draft_saved(request: HttpRequest, model: HealthModel) -> HttpResponse:
    """After a save: a redirect, or for htmx the fresh editor plus an event that refreshes the preview."""
    if not request.htmx:
        messages.success(request, _("Draft saved."))
        return redirect("health_models:edit", version=model.version)
    form = DraftForm(model=model, dimensions=_dimensions(model))
    response = render(request, "health/model_edit.html#editor", edit_context(model, form, saved=True))
    return trigger_client_event(response, "draft-saved")


@require_GET
@role_required(*editor.EDITOR_ROLES)
def model_preview(request: HttpRequest, version: int) -> HttpResponse:
    model, elsewhere = get_draft_or_redirect(request, version)
    if elsewhere:
        return elsewhere
    preview = editor.preview_draft(model=model, as_of=timezone.localdate())
    context = {
        "model": model,
        "preview": preview,
        "shown": preview.changed[:PREVIEW_LIMIT],
        "more": max(preview.changed_count - PREVIEW_LIMIT, 0),
    }
    if request.htmx:
        return render(request, "health/model_edit.html#preview", context)
    form = DraftForm(model=model, dimensions=_dimensions(model))
    return render(request, "health/model_edit.html", {**edit_context(model, form), **context})


@require_http_methods(["GET", "POST"])
@role_required(*editor.EDITOR_ROLES)
def model_publish(request: HttpRequest, version: int) -> HttpResponse:
    model, elsewhere = get_draft_or_redirect(request, version)
    if elsewhere:
        return elsewhere
    if request.method == "GET":
        return render(request, "health/model_detail.html", detail_context(model, confirm="publish"))
    try:
        editor.publish_draft(model=model, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if editor.rescoring_waits():
            messages.warning(
                request,
                _(
                    "Version %(version)s is published. The background worker is not reachable right "
                    "now: today's scores will be recomputed with it as soon as it is back."
                )
                % {"version": version},
            )
        else:
            messages.success(
                request,
                _("Version %(version)s is published. Today's scores are being recomputed with it.")
                % {"version": version},
            )
    return redirect("health_models:detail", version=version)


@require_http_methods(["GET", "POST"])
@role_required(*editor.EDITOR_ROLES)
def model_discard(request: HttpRequest, version: int) -> HttpResponse:
    model, elsewhere = get_draft_or_redirect(request, version)
    if elsewhere:
        return elsewhere
    if request.method == "GET":
        return render(request, "health/model_detail.html", detail_context(model, confirm="discard"))
    try:
        editor.discard_draft(model=model, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("health_models:detail", version=version)
    messages.success(request, _("Draft version %(version)s discarded.") % {"version": version})
    return redirect("health_models:list")
