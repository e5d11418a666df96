"""The health-model backtest: did low scores precede churn? And which weights would have told
churn apart best?

Populations, for each horizon N in 30, 60 and 90 days:
- churned accounts: the snapshot nearest to ``churned_on − N`` (within TOLERANCE_DAYS);
- retained accounts (still active): the snapshot nearest to ``today − N`` (same tolerance).
Snapshots without a score ("insufficient data") are left out.

AUC is the probability that a retained account scored higher than a churned one (Mann–Whitney U
over the ranks, ties counted as half): 0.5 is a coin toss, 1.0 a perfect warning.

Suggested weights: an L2-regularised logistic regression of churn (1) against the measures'
sub-scores (÷ 100) at the 30-day horizon, fitted by Newton's method (IRLS) in pure Python. A
missing sub-score is imputed with the measure's mean over the training accounts. Accounts are
split deterministically by a hash of their id: a quarter is held out and never seen by the fit.
Higher sub-scores should mean less churn, so a measure's suggested weight is its coefficient
negated; a measure whose coefficient came out positive (higher sub-score, more churn) or zero
gets weight 0, and the weights are scaled to sum to 100.
"""

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AccountStatus
from health import editor
from health.models import HealthModel, HealthSnapshot, MeasureKey, Tier

HORIZONS = (30, 60, 90)
FIT_HORIZON = 30
TOLERANCE_DAYS = 3
MIN_CHURNED = 20
RIDGE = 1.0
HOLD_OUT_BUCKETS = 4  # one bucket of four is held out
SCORE_BINS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))


# --- statistics ---------------------------------------------------------------------------------


def auc(churned: list[float], retained: list[float]) -> float | None:
    """P(a retained account scores higher than a churned one), ties counted half; None when either
    group is empty. Rank-based (Mann–Whitney U), ties given their average rank."""
    n_churned, n_retained = len(churned), len(retained)
    if not n_churned or not n_retained:
        return None
    values = sorted([(v, 1) for v in retained] + [(v, 0) for v in churned], key=lambda item: item[0])
    rank_sum = 0.0
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1][0] == values[i][0]:
            j += 1
        average = (i + j) / 2 + 1  # ranks are 1-based
        rank_sum += average * sum(flag for _v, flag in values[i : j + 1])
        i = j + 1
    u = rank_sum - n_retained * (n_retained + 1) / 2
    return u / (n_churned * n_retained)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting; the ridge keeps the matrix well conditioned."""
    n = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise ArithmeticError("singular system")
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            if factor:
                for c in range(col, n + 1):
                    a[r][c] -= factor * a[col][c]
    solution = [0.0] * n
    for r in range(n - 1, -1, -1):
        solution[r] = (a[r][n] - sum(a[r][c] * solution[c] for c in range(r + 1, n))) / a[r][r]
    return solution


@dataclass
class LogisticFit:
    intercept: float
    coefficients: list[float]
    iterations: int
    converged: bool

    def linear(self, row: list[float]) -> float:
        return self.intercept + sum(b * x for b, x in zip(self.coefficients, row, strict=True))

    def probability(self, row: list[float]) -> float:
        return _sigmoid(self.linear(row))


def fit_logistic(
    rows: list[list[float]],
    outcomes: list[int],
    *,
    ridge: float = RIDGE,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> LogisticFit:
    """L2-regularised logistic regression by Newton's method (IRLS). The intercept is not
    penalised. With ridge > 0 it converges even on perfectly separable data."""
    k = len(rows[0]) if rows else 0
    beta = [0.0] * (k + 1)
    design = [[1.0, *row] for row in rows]
    for iteration in range(1, max_iter + 1):
        gradient = [0.0] * (k + 1)
        hessian = [[0.0] * (k + 1) for _i in range(k + 1)]
        for x, y in zip(design, outcomes, strict=True):
            p = _sigmoid(sum(b * v for b, v in zip(beta, x, strict=True)))
            w = max(p * (1 - p), 1e-12)
            for i in range(k + 1):
                gradient[i] += (y - p) * x[i]
                wx = w * x[i]
                row = hessian[i]
                for j in range(i, k + 1):
                    row[j] += wx * x[j]
        for i in range(k + 1):
            for j in range(i):
                hessian[i][j] = hessian[j][i]
        for i in range(1, k + 1):
            gradient[i] -= ridge * beta[i]
            hessian[i][i] += ridge
        step = _solve(hessian, gradient)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < tol:
            return LogisticFit(beta[0], beta[1:], iteration, True)
    return LogisticFit(beta[0], beta[1:], max_iter, False)


def held_out(account_id: int) -> bool:
    """The deterministic split: the same accounts are held out on every run and every machine."""
    digest = hashlib.sha256(str(account_id).encode()).digest()
    return digest[0] % HOLD_OUT_BUCKETS == 0


# --- populations --------------------------------------------------------------------------------


@dataclass
class Observation:
    snapshot_id: int
    account_id: int
    churned: bool
    score: int
    tier: str
    distance: int  # days between the snapshot and the reference date


# The same choice as the Python below, made by PostgreSQL: per horizon and account, the snapshot
# nearest the reference date (ties: the lower id). The candidates of 50,000 accounts are a million
# rows; the chosen ones are three per account.
NEAREST_SQL = """
WITH candidates AS (
    SELECT h.n, s.id, s.account_id, false AS churned, s.score, s.tier,
           abs(s.date - (%(today)s::date - h.n)) AS distance
    FROM unnest(%(horizons)s::int[]) AS h(n)
    JOIN health_healthsnapshot s
      ON s.date BETWEEN %(today)s::date - h.n - %(tolerance)s AND %(today)s::date - h.n + %(tolerance)s
    JOIN accounts_account a ON a.id = s.account_id AND a.status = %(active)s
    WHERE s.score IS NOT NULL
    UNION ALL
    SELECT h.n, s.id, s.account_id, true, s.score, s.tier, abs(s.date - (a.churned_on - h.n))
    FROM unnest(%(horizons)s::int[]) AS h(n)
    JOIN accounts_account a ON a.status = %(churned)s AND a.churned_on IS NOT NULL
    JOIN health_healthsnapshot s
      ON s.account_id = a.id
     AND s.date BETWEEN a.churned_on - h.n - %(tolerance)s AND a.churned_on - h.n + %(tolerance)s
    WHERE s.score IS NOT NULL
)
SELECT DISTINCT ON (n, account_id) n, id, account_id, churned, score, tier, distance
FROM candidates
ORDER BY n, account_id, distance, id
"""


def observations(today: date, horizons: tuple[int, ...] = HORIZONS) -> dict[int, list[Observation]]:
    """Per horizon, one scored snapshot per account: nearest to churned_on − N for churned accounts,
    to today − N for the active ones. One query on PostgreSQL, two elsewhere."""
    if connection.vendor == "postgresql":
        return _nearest_in_sql(today, horizons)
    return _nearest_in_python(today, horizons)


def _nearest_in_python(today: date, horizons: tuple[int, ...]) -> dict[int, list[Observation]]:
    tolerance = timedelta(days=TOLERANCE_DAYS)
    lead = ExpressionWrapper(F("account__churned_on") - F("date"), output_field=DurationField())
    churned_window = Q()
    for n in horizons:
        churned_window |= Q(lead__gte=timedelta(days=n) - tolerance, lead__lte=timedelta(days=n) + tolerance)
    churned_rows = (
        HealthSnapshot.objects.filter(
            account__status=AccountStatus.CHURNED, account__churned_on__isnull=False, score__isnull=False
        )
        .annotate(lead=lead)
        .filter(churned_window)
        .values_list("pk", "account_id", "date", "account__churned_on", "score", "tier")
    )
    retained_window = Q()
    for n in horizons:
        reference = today - timedelta(days=n)
        retained_window |= Q(date__gte=reference - tolerance, date__lte=reference + tolerance)
    retained_rows = (
        HealthSnapshot.objects.filter(account__status=AccountStatus.ACTIVE, score__isnull=False)
        .filter(retained_window)
        .values_list("pk", "account_id", "date", "score", "tier")
    )
    best: dict[tuple[int, int], Observation] = {}

    def offer(n: int, obs: Observation) -> None:
        key = (n, obs.account_id)
        current = best.get(key)
        if current is None or (obs.distance, obs.snapshot_id) < (current.distance, current.snapshot_id):
            best[key] = obs

    for pk, account_id, day, churned_on, score, tier in churned_rows:
        for n in horizons:
            distance = abs((churned_on - day).days - n)
            if distance <= TOLERANCE_DAYS:
                offer(n, Observation(pk, account_id, True, score, tier, distance))
    for pk, account_id, day, score, tier in retained_rows:
        for n in horizons:
            distance = abs((today - timedelta(days=n) - day).days)
            if distance <= TOLERANCE_DAYS:
                offer(n, Observation(pk, account_id, False, score, tier, distance))
    by_horizon: dict[int, list[Observation]] = {n: [] for n in horizons}
    for (n, _account), obs in sorted(best.items()):
        by_horizon[n].append(obs)
    return by_horizon


def _nearest_in_sql(today: date, horizons: tuple[int, ...]) -> dict[int, list[Observation]]:
    by_horizon: dict[int, list[Observation]] = {n: [] for n in horizons}
    with transaction.atomic(), connection.cursor() as cursor:
        # A million candidate rows at 50,000 accounts: sorted in memory, not in temporary files.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(
            NEAREST_SQL,
            {
                "horizons": list(horizons),
                "today": today,
                "tolerance": TOLERANCE_DAYS,
                "active": AccountStatus.ACTIVE,
                "churned": AccountStatus.CHURNED,
            },
        )
        for n, pk, account_id, churned, score, tier, distance in cursor.fetchall():
            by_horizon[n].append(Observation(pk, account_id, churned, score, tier, distance))
    return by_horizon


# --- the report ---------------------------------------------------------------------------------


@dataclass
class TierRow:
    tier: str
    churned: int
    retained: int

    @property
    def label(self) -> str:
        """Translated when shown: a cached backtest serves every language."""
        return str(Tier(self.tier).label)

    @property
    def rate(self) -> float | None:
        total = self.churned + self.retained
        return self.churned / total if total else None


@dataclass
class HorizonResult:
    days: int
    churned: int
    retained: int
    auc: float | None
    bins: list[dict]
    tiers: list[TierRow]
    churned_mean: float | None
    retained_mean: float | None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise_horizon(days: int, obs: list[Observation]) -> HorizonResult:
    churned = [o.score for o in obs if o.churned]
    retained = [o.score for o in obs if not o.churned]
    bins = []
    for low, high in SCORE_BINS:
        c = sum(1 for s in churned if low <= s < high)
        r = sum(1 for s in retained if low <= s < high)
        bins.append(
            {
                "label": f"{low}–{min(high - 1, 100)}",
                "churned": c,
                "retained": r,
                "churned_share": c / len(churned) if churned else None,
                "retained_share": r / len(retained) if retained else None,
            }
        )
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in obs:
        counts[o.tier][0 if o.churned else 1] += 1
    tiers = [TierRow(t.value, *counts.get(t.value, [0, 0])) for t in Tier]
    return HorizonResult(
        days,
        len(churned),
        len(retained),
        auc(churned, retained),
        bins,
        tiers,
        _mean(churned),
        _mean(retained),
    )


@dataclass
class MeasureWeight:
    key: str
    coefficient: float | None  # None: no data for this measure in the training accounts
    weight: float  # suggested, 0–100
    clipped: bool
    mean: float | None

    @property
    def label(self) -> str:
        return str(MeasureKey(self.key).label)


@dataclass
class Suggestion:
    enough: bool
    churned_with_snapshots: int
    train_size: int = 0
    test_size: int = 0
    test_churned: int = 0
    current_auc: float | None = None
    fitted_auc: float | None = None
    suggested_auc: float | None = None
    converged: bool = False
    iterations: int = 0
    measures: list[MeasureWeight] = field(default_factory=list)

    @property
    def weights(self) -> dict[str, float]:
        return {m.key: m.weight for m in self.measures}

    @property
    def usable(self) -> bool:
        return self.enough and any(m.weight > 0 for m in self.measures)


def _sub_scores(values: list | None) -> list[float | None]:
    if values is None:
        return [None] * len(MeasureKey.values)
    return [
        float(v) / 100 if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values
    ]


def weighted_score(row: list[float | None], weights: list[float]) -> float | None:
    """The score a model with `weights` would give: the weighted mean over measures with data."""
    present = [(w, x) for w, x in zip(weights, row, strict=True) if x is not None and w > 0]
    total = sum(w for w, _x in present)
    return sum(w * x for w, x in present) / total if total else None


def suggest_weights(obs: list[Observation]) -> Suggestion:
    """Fit the sub-scores at the fit horizon to churn; evaluate on the held-out accounts."""
    churned_count = sum(1 for o in obs if o.churned)
    if churned_count < MIN_CHURNED or not any(not o.churned for o in obs):
        return Suggestion(enough=False, churned_with_snapshots=churned_count)
    keys = list(MeasureKey.values)
    # Only the sub-scores travel, not each snapshot's whole measures document.
    subs = {
        pk: values
        for pk, *values in HealthSnapshot.objects.filter(pk__in=[o.snapshot_id for o in obs]).values_list(
            "pk", *[f"measures__{key}__sub" for key in keys]
        )
    }
    raw = [(o, _sub_scores(subs.get(o.snapshot_id))) for o in obs]
    train = [(o, row) for o, row in raw if not held_out(o.account_id)]
    test = [(o, row) for o, row in raw if held_out(o.account_id)]
    means: list[float | None] = []
    for j in range(len(keys)):
        present = [row[j] for _o, row in train if row[j] is not None]
        means.append(_mean(present))
    used = [j for j, m in enumerate(means) if m is not None]

    def impute(row: list[float | None]) -> list[float]:
        return [row[j] if row[j] is not None else means[j] for j in used]

    result = Suggestion(
        enough=True,
        churned_with_snapshots=churned_count,
        train_size=len(train),
        test_size=len(test),
        test_churned=sum(1 for o, _r in test if o.churned),
    )
    if not used or not train:
        return result
    fit = fit_logistic([impute(row) for _o, row in train], [int(o.churned) for o, _r in train])
    result.converged, result.iterations = fit.converged, fit.iterations
    coefficients: dict[int, float] = dict(zip(used, fit.coefficients, strict=True))
    health = {j: max(0.0, -b) for j, b in coefficients.items()}
    total = sum(health.values())
    for j, key in enumerate(keys):
        b = coefficients.get(j)
        weight = health.get(j, 0.0) / total * 100 if total else 0.0
        result.measures.append(
            MeasureWeight(
                key,
                b,
                round(weight, 2),
                clipped=b is not None and b >= 0,
                mean=means[j] * 100 if means[j] is not None else None,
            )
        )
    churned_test = [(o, row) for o, row in test if o.churned]
    retained_test = [(o, row) for o, row in test if not o.churned]
    result.current_auc = auc([o.score for o, _r in churned_test], [o.score for o, _r in retained_test])
    result.fitted_auc = auc(
        [-fit.linear(impute(r)) for _o, r in churned_test],
        [-fit.linear(impute(r)) for _o, r in retained_test],
    )
    weights = [m.weight for m in result.measures]

    def suggested(rows: list) -> list[float]:
        scores = (weighted_score(r, weights) for _o, r in rows)
        return [s for s in scores if s is not None]

    result.suggested_auc = auc(suggested(churned_test), suggested(retained_test)) if total else None
    return result


@dataclass
class Backtest:
    today: date
    horizons: list[HorizonResult]
    suggestion: Suggestion
    computed_at: datetime = field(default_factory=timezone.now)
    refreshing: bool = False  # an older result, shown while the current one is computed


def run_backtest(today: date) -> Backtest:
    by_horizon = observations(today)
    return Backtest(
        today=today,
        horizons=[summarise_horizon(n, by_horizon[n]) for n in HORIZONS],
        suggestion=suggest_weights(by_horizon[FIT_HORIZON]),
    )


# --- the draft ----------------------------------------------------------------------------------


@transaction.atomic
def create_suggested_draft(*, user: Any, suggestion: Suggestion) -> HealthModel:
    """A new DRAFT health model with the suggested weights, through the editor's own services
    (create_draft, then update_draft), so it is audited and validated like a manager's edit.

    Each dimension's weight becomes ten times the sum of its measures' suggested weights (the
    editor's dimension weights are whole numbers up to 1000), and each measure's share its own
    weight, so a measure's effective weight is its suggested weight. An existing draft is never
    overwritten: ValidationError with code "draft_exists".
    """
    if not suggestion.usable:
        raise ValidationError(_("There is no suggestion to turn into a draft."), code="no_suggestion")
    existing = editor.current_draft()
    if existing is not None:
        raise ValidationError(
            _("Version %(version)s is already a draft: publish or discard it first."),
            code="draft_exists",
            params={"version": existing.version},
        )
    draft = editor.create_draft(user=user)
    weights = suggestion.weights
    dimension_weights = {}
    measures = {}
    for dimension in draft.dimensions.prefetch_related("measures"):
        keys = [m.key for m in dimension.measures.all()]
        dimension_weights[dimension.key] = min(
            round(sum(weights.get(k, 0.0) for k in keys) * 10), editor.MAX_DIMENSION_WEIGHT
        )
        for key in keys:
            measures[key] = {"weight": Decimal(str(weights.get(key, 0.0))).quantize(Decimal("0.01"))}
    note = _("Weights suggested by the backtest (held-out AUC %(suggested)s; current model %(current)s).") % {
        "suggested": _fmt(suggestion.suggested_auc),
        "current": _fmt(suggestion.current_auc),
    }
    return editor.update_draft(
        model=draft,
        user=user,
        dimension_weights=dimension_weights,
        measures=measures,
        note=note[: editor.NOTE_MAX_LENGTH],
    )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
