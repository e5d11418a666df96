"""The health-model editor: every write to a model version goes through these functions.

A manager copies the published model into a draft, edits its weights and bands, previews which
accounts would change tier, then publishes it: the old version retires and today's scores are
recomputed with the new one. Snapshots keep the version that scored them, so history never moves.
"""

import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from csworkbench.core import outbox
from csworkbench.core.models import record_audit
from csworkbench.core.roles import Role, has_role

from .models import HealthDimension, HealthMeasure, HealthModel, Interpolation, ModelStatus, Tier
from .recompute import compute_scores
from .tasks import nightly_health_run

EDITOR_ROLES = (Role.MANAGER, Role.ADMIN)
MAX_DIMENSION_WEIGHT = 1000
MAX_MEASURE_WEIGHT = Decimal("999.99")  # the column holds five digits, two after the point
MAX_BAND_POINTS = 12
# Model parameters an editor may change, with the range each accepts.
PARAMETER_RANGES = {
    "stale_after_days": (1, 365),
    "no_login_days": (1, 365),
    "default_features_offered": (1, 1000),
    "cadence_a_days": (1, 365),
    "cadence_b_days": (1, 365),
    "cadence_c_days": (1, 365),
}
NOTE_MAX_LENGTH = HealthModel._meta.get_field("note").max_length
INSUFFICIENT_DATA = ""
INSUFFICIENT_DATA_LABEL = gettext_lazy("Insufficient data")


def can_edit_models(user: Any) -> bool:
    return has_role(user, *EDITOR_ROLES)


def _check_editor(user: Any) -> None:
    if not can_edit_models(user):
        raise PermissionDenied("Only managers and admins change the health model.")


def current_draft() -> HealthModel | None:
    return HealthModel.objects.filter(status=ModelStatus.DRAFT).order_by("-version").first()


def _lock_published() -> list[HealthModel]:
    """Lock the published row: draft creation and publishing queue behind each other on it."""
    return list(HealthModel.objects.select_for_update().filter(status=ModelStatus.PUBLISHED))


def _locked_draft(model: HealthModel) -> HealthModel:
    """The draft re-read under a row lock, or a ValidationError if it is no longer a draft."""
    fresh = HealthModel.objects.select_for_update().filter(pk=model.pk).first()
    if fresh is None or fresh.status != ModelStatus.DRAFT:
        raise ValidationError(
            _("Version %(version)s is no longer a draft: someone published or discarded it."),
            code="not_draft",
            params={"version": model.version},
        )
    return fresh


@transaction.atomic
def create_draft(*, user: Any, based_on: HealthModel | None = None) -> HealthModel:
    """A new draft copied from `based_on` (default: the published version), numbered max + 1.

    There is only ever one draft: if one exists it is returned unchanged, whatever `based_on` says.
    """
    _check_editor(user)
    published = _lock_published()
    existing = current_draft()
    if existing is not None:
        return existing
    source = based_on or (published[0] if published else None)
    if source is None:
        raise ValidationError(_("There is no published model to start a draft from."), code="no_source")
    version = (HealthModel.objects.aggregate(highest=Max("version"))["highest"] or 0) + 1
    draft = HealthModel.objects.create(
        version=version,
        status=ModelStatus.DRAFT,
        note="",
        created_by=user,
        **{name: getattr(source, name) for name in PARAMETER_RANGES},
    )
    measures = []
    for dimension in source.dimensions.prefetch_related("measures"):
        copy = HealthDimension.objects.create(
            model=draft, key=dimension.key, weight=dimension.weight, position=dimension.position
        )
        measures.extend(
            HealthMeasure(
                dimension=copy,
                key=measure.key,
                weight=measure.weight,
                bands=measure.bands,
                interpolation=measure.interpolation,
                position=measure.position,
            )
            for measure in dimension.measures.all()
        )
    HealthMeasure.objects.bulk_create(measures)
    record_audit(
        actor=user,
        action="health_model.draft_created",
        target=f"v{draft.version}",
        version=draft.version,
        based_on=source.version,
    )
    return draft


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _tidy(number: float) -> int | float:
    return int(number) if number.is_integer() else number


def clean_bands(bands: Any) -> list[list[int | float]]:
    """Validated band points as [[raw, sub-score], ...]; raises ValidationError with the first problem."""
    if not isinstance(bands, list | tuple):
        raise ValidationError(_("Give the points as pairs of a raw value and a sub-score."), code="invalid")
    points = []
    for point in bands:
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ValidationError(_("Each point needs a raw value and a sub-score."), code="invalid")
        raw, sub = _number(point[0]), _number(point[1])
        if raw is None or sub is None:
            raise ValidationError(_("Each point needs a raw value and a sub-score."), code="invalid")
        points.append([raw, sub])
    errors = []
    if len(points) < 2:
        errors.append(ValidationError(_("Give at least two points."), code="too_few"))
    if len(points) > MAX_BAND_POINTS:
        errors.append(
            ValidationError(
                _("Give at most %(count)s points."), code="too_many", params={"count": MAX_BAND_POINTS}
            )
        )
    if any(later[0] <= earlier[0] for earlier, later in itertools.pairwise(points)):
        errors.append(
            ValidationError(_("Raw values must increase from each point to the next."), code="order")
        )
    if any(not 0 <= sub <= 100 for _raw, sub in points):
        errors.append(ValidationError(_("Sub-scores must be between 0 and 100."), code="range"))
    if errors:
        raise ValidationError(errors)
    return [[_tidy(raw), _tidy(sub)] for raw, sub in points]


def _measure_weight(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a number."), code="invalid")
    try:
        weight = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter a number."), code="invalid") from None
    if not weight.is_finite():
        raise ValidationError(_("Enter a number."), code="invalid")
    if weight < 0 or weight > MAX_MEASURE_WEIGHT:
        raise ValidationError(
            _("A share must be between 0 and %(max)s."), code="range", params={"max": MAX_MEASURE_WEIGHT}
        )
    if weight != weight.quantize(Decimal("0.01")):
        raise ValidationError(_("Use at most two decimal places."), code="precision")
    return weight.quantize(Decimal("0.01"))


def _whole_number(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise ValidationError(_("Enter a whole number."), code="invalid")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(_("Enter a whole number."), code="invalid") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number."), code="invalid")
    if not low <= number <= high:
        raise ValidationError(
            _("Enter a whole number from %(low)s to %(high)s."),
            code="range",
            params={"low": low, "high": high},
        )
    return int(number)


class _Problems(dict):
    """Field name -> errors, gathered so that every problem is reported at once."""

    def add(self, key: str, error: ValidationError) -> None:
        self.setdefault(key, []).extend(error.error_list)


def _new_dimension_weights(dimensions: dict, given: dict, problems: _Problems) -> dict[str, int]:
    weights = {key: d.weight for key, d in dimensions.items()}
    for key, value in given.items():
        if key not in dimensions:
            problems.add(
                "dimension_weights", ValidationError(_("Unknown dimension: %(key)s."), params={"key": key})
            )
            continue
        try:
            weights[key] = _whole_number(value, 0, MAX_DIMENSION_WEIGHT)
        except ValidationError as error:
            problems.add(f"dimension_{key}", error)
    return weights


def _new_measures(by_key: dict, given: dict, problems: _Problems) -> dict[str, dict]:
    specs = {
        key: {"weight": m.weight, "bands": m.bands, "interpolation": m.interpolation}
        for key, m in by_key.items()
    }
    for key, spec in given.items():
        if key not in by_key:
            problems.add("measures", ValidationError(_("Unknown measure: %(key)s."), params={"key": key}))
            continue
        for attr, clean in (
            ("weight", _measure_weight),
            ("bands", clean_bands),
            ("interpolation", _interpolation),
        ):
            if attr in spec:
                try:
                    specs[key][attr] = clean(spec[attr])
                except ValidationError as error:
                    problems.add(f"{key}_{attr}", error)
    return specs


def _interpolation(value: Any) -> str:
    if value not in Interpolation.values:
        raise ValidationError(_("Choose linear or steps."), code="invalid")
    return value


def _check_shares(dimensions: dict, weights: dict, specs: dict, problems: _Problems) -> None:
    """Some dimension must count, and a dimension that counts needs a measure that does."""
    if any(f"dimension_{key}" in problems for key in dimensions):
        return
    if not any(weights.values()):
        problems.add(
            "dimension_weights",
            ValidationError(_("At least one dimension needs a weight above zero."), code="all_zero"),
        )
    for key, dimension in dimensions.items():
        keys = [m.key for m in dimension.measures.all()]
        if any(f"{m}_weight" in problems for m in keys):
            continue
        if weights[key] and not any(specs[m]["weight"] for m in keys):
            problems.add(
                f"dimension_{key}",
                ValidationError(
                    _("A dimension with a weight needs at least one measure with a share above zero."),
                    code="no_share",
                ),
            )


def _new_parameters(given: dict, problems: _Problems) -> dict:
    parameters = {}
    for name, value in given.items():
        if value is None:
            continue
        if name == "note":
            parameters["note"] = str(value).strip()
            if len(parameters["note"]) > NOTE_MAX_LENGTH:
                problems.add(
                    "note",
                    ValidationError(
                        _("Keep the note under %(max)s characters."), params={"max": NOTE_MAX_LENGTH}
                    ),
                )
            continue
        try:
            parameters[name] = _whole_number(value, *PARAMETER_RANGES[name])
        except ValidationError as error:
            problems.add(name, error)
    return parameters


def _apply(
    *, model: HealthModel, dimensions: dict, by_key: dict, weights: dict, specs: dict, parameters: dict
):
    """Write what differs; return {field: [before, after]} for the audit row."""
    changes: dict[str, list] = {}
    for key, dimension in dimensions.items():
        if dimension.weight != weights[key]:
            changes[f"dimension_{key}"] = [dimension.weight, weights[key]]
            dimension.weight = weights[key]
            dimension.save(update_fields=["weight"])
    changed_measures = []
    for key, measure in by_key.items():
        for attr, value in specs[key].items():
            before = getattr(measure, attr)
            if before != value:
                changes[f"{key}_{attr}"] = [str(before), str(value)] if attr == "weight" else [before, value]
                setattr(measure, attr, value)
                if measure not in changed_measures:
                    changed_measures.append(measure)
    if changed_measures:
        HealthMeasure.objects.bulk_update(changed_measures, ["weight", "bands", "interpolation"])
    update_fields = []
    for name, value in parameters.items():
        if getattr(model, name) != value:
            changes[name] = [getattr(model, name), value]
            setattr(model, name, value)
            update_fields.append(name)
    if update_fields:
        model.save(update_fields=update_fields)
    return changes


@transaction.atomic
def update_draft(
    *,
    model: HealthModel,
    user: Any,
    dimension_weights: dict[str, int] | None = None,
    measures: dict[str, dict] | None = None,
    note: str | None = None,
    stale_after_days: int | None = None,
    no_login_days: int | None = None,
    default_features_offered: int | None = None,
    cadence_a_days: int | None = None,
    cadence_b_days: int | None = None,
    cadence_c_days: int | None = None,
) -> HealthModel:
    """Change a draft's weights, bands and parameters. Anything left as None stays as it is.

    `measures` maps a measure key to any of {"weight", "bands", "interpolation"}. Every problem
    is reported at once in one ValidationError, keyed by field: `dimension_weights` (all zero),
    `dimension_<key>`, `<measure>_weight`, `<measure>_bands`, `<measure>_interpolation`, `note`
    and the parameter names. Nothing is saved unless everything is valid; a version that is not
    a draft (any more) raises ValidationError with code "not_draft".
    """
    _check_editor(user)
    model = _locked_draft(model)
    dimensions = {d.key: d for d in model.dimensions.prefetch_related("measures")}
    by_key = {m.key: m for d in dimensions.values() for m in d.measures.all()}
    problems = _Problems()
    weights = _new_dimension_weights(dimensions, dimension_weights or {}, problems)
    specs = _new_measures(by_key, measures or {}, problems)
    _check_shares(dimensions, weights, specs, problems)
    parameters = _new_parameters(
        {
            "note": note,
            "stale_after_days": stale_after_days,
            "no_login_days": no_login_days,
            "default_features_offered": default_features_offered,
            "cadence_a_days": cadence_a_days,
            "cadence_b_days": cadence_b_days,
            "cadence_c_days": cadence_c_days,
        },
        problems,
    )
    if problems:
        raise ValidationError(dict(problems))
    changes = _apply(
        model=model, dimensions=dimensions, by_key=by_key, weights=weights, specs=specs, parameters=parameters
    )
    if changes:
        record_audit(
            actor=user,
            action="health_model.draft_updated",
            target=f"v{model.version}",
            version=model.version,
            changes=changes,
        )
    return model


@dataclass
class TierCount:
    tier: str
    label: str
    before: int
    after: int

    @property
    def difference(self) -> int:
        return self.after - self.before


@dataclass
class TierChange:
    account_id: int
    name: str
    old_score: int | None
    old_tier: str
    new_score: int | None
    new_tier: str

    @property
    def delta(self) -> int | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score

    @property
    def old_tier_label(self) -> str:
        return tier_label(self.old_tier)

    @property
    def new_tier_label(self) -> str:
        return tier_label(self.new_tier)


@dataclass
class Preview:
    as_of: date
    draft: HealthModel
    published: HealthModel | None
    scored: int
    tiers: list[TierCount]
    changed: list[TierChange] = field(default_factory=list)

    @property
    def changed_count(self) -> int:
        return len(self.changed)


def tier_label(tier: str) -> str:
    return str(Tier(tier).label) if tier else str(INSUFFICIENT_DATA_LABEL)


def preview_draft(*, model: HealthModel, as_of: date) -> Preview:
    """How `model` would score every customer on `as_of`, against the published version.

    Writes nothing. Changed accounts are sorted by the size of the score change, largest first.
    """
    published = HealthModel.objects.filter(status=ModelStatus.PUBLISHED).first()
    before = compute_scores(as_of=as_of, model=published) if published else {}
    after = compute_scores(as_of=as_of, model=model)
    tiers = [*Tier.values, INSUFFICIENT_DATA]
    tier_counts = [
        TierCount(
            tier=tier,
            label=tier_label(tier),
            before=sum(1 for score in before.values() if score.tier == tier),
            after=sum(1 for score in after.values() if score.tier == tier),
        )
        for tier in tiers
    ]
    moved = [pk for pk, score in after.items() if pk in before and before[pk].tier != score.tier]
    names = dict(Account.objects.filter(pk__in=moved).values_list("pk", "name"))
    changed = [
        TierChange(
            account_id=pk,
            name=names.get(pk, ""),
            old_score=before[pk].score,
            old_tier=before[pk].tier,
            new_score=after[pk].score,
            new_tier=after[pk].tier,
        )
        for pk in moved
    ]
    changed.sort(key=lambda change: (-abs(change.delta or 0), change.name, change.account_id))
    return Preview(
        as_of=as_of,
        draft=model,
        published=published,
        scored=len(after),
        tiers=tier_counts,
        changed=changed,
    )


@transaction.atomic
def publish_draft(*, model: HealthModel, user: Any) -> HealthModel:
    """Publish the draft: the published version retires, and today's scores are recomputed with the
    new one once the transaction commits.

    Both rows are locked, so of two concurrent publishes exactly one wins; the other finds the
    version no longer a draft and raises ValidationError.
    """
    _check_editor(user)
    locked = list(
        HealthModel.objects.select_for_update()
        .filter(Q(pk=model.pk) | Q(status=ModelStatus.PUBLISHED))
        .order_by("pk")
    )
    draft = next((m for m in locked if m.pk == model.pk), None)
    if draft is None or draft.status != ModelStatus.DRAFT:
        raise ValidationError(
            _("Version %(version)s is no longer a draft: someone published or discarded it."),
            code="not_draft",
            params={"version": model.version},
        )
    retired = [m for m in locked if m.status == ModelStatus.PUBLISHED]
    for old in retired:
        old.status = ModelStatus.RETIRED
        old.save(update_fields=["status"])
    draft.status = ModelStatus.PUBLISHED
    draft.published_at = timezone.now()
    draft.published_by = user
    draft.save(update_fields=["status", "published_at", "published_by"])
    record_audit(
        actor=user,
        action="health_model.published",
        target=f"v{draft.version}",
        version=draft.version,
        retired=[old.version for old in retired],
        note=draft.note,
    )
    # Through the outbox: the model is published even when the broker is down, and the run
    # waits for it (one waiting run at most, however many versions are published meanwhile).
    outbox.send_on_commit(nightly_health_run.si(), key=RESCORE_KEY)
    return draft


RESCORE_KEY = "health:rescore"


def rescoring_waits() -> bool:
    """The recomputation a publish queued waits for the broker (see csworkbench.core.outbox)."""
    return outbox.is_waiting(RESCORE_KEY)


@transaction.atomic
def discard_draft(*, model: HealthModel, user: Any) -> None:
    """Delete the draft with its dimensions and measures. Published and retired versions stay."""
    _check_editor(user)
    draft = _locked_draft(model)
    version = draft.version
    draft.delete()
    record_audit(
        actor=user,
        action="health_model.draft_discarded",
        target=f"v{version}",
        version=version,
    )
