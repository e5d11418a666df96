"""Daily health scoring: set-based reads, per-account arithmetic in memory, bulk writes.

The whole run for every account costs a handful of queries: one aggregate over the metrics
window, one annotated account query (latest values, last touch, champion, events, override),
then a bulk replace of the day's snapshots and one UPDATE copying the result onto accounts.
"""

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, Func, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accounts.models import Account, Contact, Touchpoint

from .models import (
    DailyMetric,
    EventKind,
    HealthModel,
    HealthOverride,
    HealthSnapshot,
    ModelStatus,
    SignalEvent,
    Tier,
    tier_for,
)

# A formerly active support user (≥ this many tickets a month) who goes quiet is a warning sign.
SILENCE_BASELINE_PER_MONTH = 2
SILENCE_SCORE = 60
CANCELLATION_WINDOW_DAYS = 90
HIGH_RISK_CAP = 39
METRICS_WINDOW_DAYS = 150  # the longest lookback: 30 days against the 90 before


def band_score(value: float, bands: list, interpolation: str = "linear") -> float:
    """Piecewise linear (or stepped) sub-score between the band points, clamped at the ends."""
    return interpolate(value, sorted_points(bands), interpolation)


def sorted_points(bands: list) -> tuple[tuple[float, float], ...]:
    return tuple(sorted((float(x), float(y)) for x, y in bands))


def interpolate(value: float, points: tuple[tuple[float, float], ...], interpolation: str) -> float:
    if value <= points[0][0]:
        return points[0][1]
    if value >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= value < x1:
            if interpolation == "step":
                return y0
            return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
    return points[-1][1]


@dataclass
class MeasureSpec:
    key: str
    dimension: str
    weight: float  # the measure's share of the whole model, before renormalising
    bands: list
    interpolation: str
    points: tuple = ()

    def __post_init__(self):
        self.points = sorted_points(self.bands)


@dataclass
class ModelSpec:
    model: HealthModel
    measures: list[MeasureSpec] = field(default_factory=list)
    # The time zone touches are dated in, read once per run rather than once per account.
    tz: tzinfo | None = None

    @property
    def total_weight(self) -> float:
        return sum(m.weight for m in self.measures) or 1

    @classmethod
    def load(cls, model: HealthModel) -> "ModelSpec":
        spec = cls(model=model, tz=timezone.get_current_timezone())
        dimensions = list(model.dimensions.prefetch_related("measures"))
        total = sum(d.weight for d in dimensions) or 1
        for dimension in dimensions:
            measures = list(dimension.measures.all())
            shares = sum(float(m.weight) for m in measures) or 1
            for measure in measures:
                weight = dimension.weight / total * float(measure.weight) / shares
                spec.measures.append(
                    MeasureSpec(measure.key, dimension.key, weight, measure.bands, measure.interpolation)
                )
        return spec


def published_model() -> HealthModel:
    return HealthModel.objects.get(status=ModelStatus.PUBLISHED)


def _window(as_of: date, first: int, last: int) -> Q:
    """Days `first`..`last` before as_of inclusive (0 is as_of itself)."""
    return Q(date__gte=as_of - timedelta(days=last), date__lte=as_of - timedelta(days=first))


def _sum(field_name: str, window: Q) -> Sum:
    return Sum(field_name, filter=window)


def _days(field_name: str, window: Q) -> Count:
    return Count(field_name, filter=window)


def metric_aggregates(as_of: date, accounts) -> dict[int, dict]:
    """Per-account sums and reporting-day counts over each window, in one GROUP BY."""
    w14, w_prior60 = _window(as_of, 0, 13), _window(as_of, 14, 73)
    w30, w_prior60_core = _window(as_of, 0, 29), _window(as_of, 30, 89)
    w_prior90 = _window(as_of, 30, 119)
    w90 = _window(as_of, 0, 89)
    rows = (
        DailyMetric.objects.filter(
            account__in=accounts, date__gt=as_of - timedelta(days=METRICS_WINDOW_DAYS), date__lte=as_of
        )
        .values("account_id")
        .annotate(
            last_date=Max("date"),
            first_date=Min("date"),
            last_login=Max("date", filter=Q(logins__gt=0)),
            logins_14=_sum("logins", w14),
            logins_14_days=_days("logins", w14),
            logins_prior=_sum("logins", w_prior60),
            logins_prior_days=_days("logins", w_prior60),
            login_days_14=Count("date", filter=w14 & Q(logins__gt=0)),
            login_days_prior=Count("date", filter=w_prior60 & Q(logins__gt=0)),
            training_30=_sum("training_sessions", w30),
            training_30_days=_days("training_sessions", w30),
            logins_30=_sum("logins", w30),
            logins_30_days=_days("logins", w30),
            active_30=_sum("active_users", w30),
            active_30_days=_days("active_users", w30),
            core_30=_sum("core_events", w30),
            core_30_days=_days("core_events", w30),
            core_prior=_sum("core_events", w_prior60_core),
            core_prior_days=_days("core_events", w_prior60_core),
            tickets_30=_sum("tickets_opened", w30),
            tickets_30_days=_days("tickets_opened", w30),
            tickets_prior=_sum("tickets_opened", w_prior90),
            tickets_prior_days=_days("tickets_opened", w_prior90),
            csat_count=_sum("csat_count", w90),
            csat_sum=_sum("csat_sum", w90),
            emails_sent=_sum("emails_sent", w90),
            emails_opened=_sum("emails_opened", w90),
            training=_sum("training_sessions", w90),
            training_days=_days("training_sessions", w90),
            release_notes=_sum("release_notes_views", w30),
            release_notes_days=_days("release_notes_views", w30),
            **(_latest_in_scan(as_of) if connection.vendor == "postgresql" else {}),
        )
    )
    return {row.pop("account_id"): row for row in rows}


def _latest(field_name: str, as_of: date, lookback_days: int) -> Subquery:
    return Subquery(
        DailyMetric.objects.filter(
            account=OuterRef("pk"),
            date__lte=as_of,
            date__gt=as_of - timedelta(days=lookback_days),
            **{f"{field_name}__isnull": False},
        )
        .order_by("-date")
        .values(field_name)[:1]
    )


def scored_accounts(as_of: date, external_id: str | None = None):
    """Accounts that were customers on `as_of`: started by then and not yet churned."""
    accounts = Account.objects.filter(contract_start__lte=as_of).filter(
        Q(status="active") | Q(churned_on__gt=as_of)
    )
    if external_id:
        accounts = accounts.filter(external_id=external_id)
    return accounts


# Latest reported value of each field, and how far back to look for it.
LATEST_FIELDS = {
    "seats": ("licensed_seats", 90),
    "features_used_now": ("features_used", 30),
    "features_offered_now": ("features_offered", 90),
    "open_hp": ("open_high_priority", 30),
    "overdue": ("invoice_days_overdue", 30),
    "nps_latest": ("nps", 365),
}
# PostgreSQL folds these into the metrics scan (array_agg ordered by date); other databases
# read each through an index probe per account.
SCAN_LATEST = ("seats", "features_used_now", "features_offered_now", "open_hp", "overdue")


class _First(Func):
    """The first element of an array (PostgreSQL arrays count from 1): only that value travels."""

    template = "(%(expressions)s)[1]"


def _latest_in_scan(as_of: date) -> dict:
    from django.contrib.postgres.aggregates import ArrayAgg

    return {
        name: _First(
            ArrayAgg(
                field_name,
                filter=Q(**{f"{field_name}__isnull": False}) & _window(as_of, 0, LATEST_FIELDS[name][1] - 1),
                order_by="-date",
            ),
            output_field=DailyMetric._meta.get_field(field_name),
        )
        for name in SCAN_LATEST
        for field_name in [LATEST_FIELDS[name][0]]
    }


def account_facts(as_of: date, accounts) -> list[dict]:
    """Each account's facts besides its metric aggregates: the latest values the metrics scan
    does not carry, the last touch, contacts and champion, cancellation intent and a CSM
    override. Each comes from one grouped query over every account, joined here by account id,
    never from a probe per account."""
    in_scan = connection.vendor == "postgresql"
    probed = {
        name: _latest(field_name, as_of, days)
        for name, (field_name, days) in LATEST_FIELDS.items()
        if not in_scan  # PostgreSQL reads them in the metrics scan and below, grouped
    }
    rows = list(accounts.annotate(**probed).values("pk", "value_tier", "contract_start", *probed))
    ids = accounts.values("pk")
    end_of_day = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))
    last_touch = dict(
        Touchpoint.objects.filter(account__in=ids, occurred_at__lt=end_of_day)
        .values("account_id")
        .annotate(last=Max("occurred_at"))
        .values_list("account_id", "last")
    )
    # Account → number of its champions still there on as_of; an account with contacts is listed.
    champions = dict(
        Contact.objects.filter(account__in=ids)
        .values("account_id")
        .annotate(
            champions=Count(
                "pk", filter=Q(is_champion=True) & (Q(left_on__isnull=True) | Q(left_on__gt=as_of))
            )
        )
        .values_list("account_id", "champions")
    )
    cancellation = set(
        SignalEvent.objects.filter(
            account__in=ids,
            kind=EventKind.CANCELLATION_INTENT,
            occurred_on__lte=as_of,
            occurred_on__gt=as_of - timedelta(days=CANCELLATION_WINDOW_DAYS),
        )
        .values_list("account_id", flat=True)
        .distinct()
    )
    overrides: dict[int, int] = {}
    for account_id, score in (
        HealthOverride.objects.filter(
            account__in=ids, revoked_at__isnull=True, expires_on__gte=as_of, created_at__date__lte=as_of
        )
        .order_by("account_id", "-created_at")
        .values_list("account_id", "score")
    ):
        overrides.setdefault(account_id, score)  # the latest one set
    nps = _latest_nps(as_of, ids) if in_scan else None
    for row in rows:
        pk = row["pk"]
        row["last_touch"] = last_touch.get(pk)
        count = champions.get(pk)
        row["has_contacts"] = count is not None
        row["has_champion"] = bool(count)
        row["cancellation_intent"] = pk in cancellation
        row["override_score"] = overrides.get(pk)
        if nps is not None:
            row["nps_latest"] = nps.get(pk)
    return rows


def _latest_nps(as_of: date, ids) -> dict[int, int]:
    """PostgreSQL: each account's latest NPS response over the last year, in one DISTINCT ON
    read through the partial index of the rows that carry one."""
    name, days = LATEST_FIELDS["nps_latest"]
    return dict(
        DailyMetric.objects.filter(
            account__in=ids,
            date__lte=as_of,
            date__gt=as_of - timedelta(days=days),
            **{f"{name}__isnull": False},
        )
        .order_by("account_id", "-date")
        .distinct("account_id")
        .values_list("account_id", name)
    )


def _mean(total, days) -> float | None:
    return None if not days else float(total or 0) / days


def _trend(recent: float | None, prior: float | None) -> float | None:
    if recent is None or prior is None:
        return None
    if prior == 0:
        return 1.0 if recent > 0 else 0.0
    return recent / prior


def raw_values(
    facts: dict, agg: dict, model: HealthModel, as_of: date, tz: tzinfo | None = None
) -> dict[str, float | None]:
    """Each measure's raw value, or None when its inputs were not reported. `tz` is the current
    time zone (read here when not given)."""
    raw: dict[str, float | None] = {}
    raw["login_trend"] = _trend(
        _mean(agg.get("logins_14"), agg.get("logins_14_days")),
        _mean(agg.get("logins_prior"), agg.get("logins_prior_days")),
    )
    active = _mean(agg.get("active_30"), agg.get("active_30_days"))
    seats = facts["seats"]
    raw["seat_utilisation"] = active / seats if active is not None and seats else None
    raw["core_feature_trend"] = _trend(
        _mean(agg.get("core_30"), agg.get("core_30_days")),
        _mean(agg.get("core_prior"), agg.get("core_prior_days")),
    )
    offered = facts["features_offered_now"] or model.default_features_offered
    used = facts["features_used_now"]
    raw["feature_breadth"] = used / offered if used is not None and offered else None
    if agg.get("tickets_30_days") and agg.get("tickets_prior_days"):
        baseline = float(agg["tickets_prior"] or 0) / agg["tickets_prior_days"] * 30
        raw["ticket_anomaly"] = float(agg["tickets_30"] or 0) / max(baseline, 1.0)
        raw["_ticket_baseline"] = baseline
        raw["_tickets_30"] = float(agg["tickets_30"] or 0)
    else:
        raw["ticket_anomaly"] = None
    csat_count = agg.get("csat_count") or 0
    raw["csat"] = float(agg["csat_sum"]) / csat_count if csat_count else None
    raw["open_high_priority"] = facts["open_hp"]
    raw["invoice_overdue"] = facts["overdue"]
    cadence = model.cadence_days(facts["value_tier"])
    if facts["last_touch"] is not None:
        touched = facts["last_touch"]
        last = (touched.astimezone(tz) if tz is not None else timezone.localtime(touched)).date()
    else:
        last = facts["contract_start"]
    raw["touch_recency"] = max((as_of - last).days, 0) / cadence
    raw["champion_present"] = (1.0 if facts["has_champion"] else 0.0) if facts["has_contacts"] else None
    raw["latest_nps"] = facts["nps_latest"]
    sent = agg.get("emails_sent") or 0
    raw["email_open_rate"] = float(agg.get("emails_opened") or 0) / sent if sent else None
    raw["training"] = float(agg["training"] or 0) if agg.get("training_days") else None
    raw["release_notes"] = float(agg["release_notes"] or 0) if agg.get("release_notes_days") else None
    return raw


@dataclass
class Score:
    score: int | None
    computed_score: int | None
    tier: str
    confidence: float
    stale: bool
    override: str
    measures: dict


def score_account(facts: dict, agg: dict, spec: ModelSpec, as_of: date) -> Score:
    model = spec.model
    raw = raw_values(facts, agg, model, as_of, spec.tz)
    total_weight = spec.total_weight
    # A measure weighted 0 counts for nothing, data or not.
    present = [m for m in spec.measures if raw.get(m.key) is not None and m.weight > 0]
    present_weight = sum(m.weight for m in present)
    measures: dict[str, dict] = {}
    weighted = 0.0
    for m in spec.measures:
        value = raw.get(m.key)
        if value is None or not m.weight > 0:
            measures[m.key] = {
                "dimension": m.dimension,
                "raw": None,
                "sub": None,
                "weight": 0.0,
                "contribution": 0.0,
            }
            continue
        silence = m.key == "ticket_anomaly" and (
            raw["_tickets_30"] == 0 and raw["_ticket_baseline"] >= SILENCE_BASELINE_PER_MONTH
        )
        sub = float(SILENCE_SCORE) if silence else interpolate(float(value), m.points, m.interpolation)
        share = m.weight / present_weight
        entry = {
            "dimension": m.dimension,
            "raw": round(float(value), 4),
            "sub": round(sub, 2),
            "weight": round(share * 100, 2),
            "contribution": round(share * sub, 2),
        }
        if silence:
            entry["silence"] = True
        measures[m.key] = entry
        weighted += share * sub
    last_date = agg.get("last_date")
    stale = last_date is None or (as_of - last_date).days > model.stale_after_days
    confidence = round(present_weight / total_weight, 3)
    computed = int(Decimal(weighted).quantize(Decimal("1"), rounding="ROUND_HALF_UP")) if present else None
    score, override = computed, ""
    # "No login for N days" needs evidence of absence: reports that cover the period. A source
    # that stopped sending is stale, not a customer who stopped logging in.
    since = agg.get("last_login") or agg.get("first_date")
    no_login = (
        not stale
        and since is not None
        and (as_of - since).days >= model.no_login_days
        and (agg.get("last_login") is None or agg.get("logins_30_days"))
    )
    if score is not None and no_login and score > HIGH_RISK_CAP:
        score, override = HIGH_RISK_CAP, "no_login"
    tier = tier_for(score).value if score is not None else ""
    if facts["cancellation_intent"]:
        override = "cancellation_intent"
        tier = Tier.HIGH.value
        if score is not None:
            score = min(score, HIGH_RISK_CAP)
    if facts["override_score"] is not None:
        score, override = facts["override_score"], "csm"
        tier = tier_for(score).value
    return Score(score, computed, tier, confidence, stale, override, measures)


def rescore_measures(measures: dict, spec: ModelSpec) -> dict[str, float]:
    """Each measure's contribution had a snapshot's raw values been scored by `spec`'s model:
    how "why it moved" separates a model change from the account's own moves."""
    present = [
        m for m in spec.measures if (measures.get(m.key) or {}).get("raw") is not None and m.weight > 0
    ]
    present_weight = sum(m.weight for m in present)
    contributions = {}
    for m in present:
        entry = measures[m.key]
        sub = (
            float(SILENCE_SCORE)
            if entry.get("silence")
            else interpolate(float(entry["raw"]), m.points, m.interpolation)
        )
        contributions[m.key] = m.weight / present_weight * sub
    return contributions


@dataclass
class RunResult:
    as_of: date
    model_version: int
    scored: int
    prepared: "Prepared | None" = field(default=None, repr=False)


@dataclass
class Prepared:
    """What one day's reads produced, shared by scoring and the alerts that follow it."""

    accounts: object
    aggregates: dict
    facts: list


def prepare(*, as_of: date, external_id: str | None = None) -> Prepared:
    accounts = scored_accounts(as_of, external_id)
    aggregates = metric_aggregates(as_of, accounts.values("pk"))
    facts = account_facts(as_of, accounts)
    for row in facts:
        with_latest(row, aggregates.get(row["pk"], {}))
    return Prepared(accounts=accounts, aggregates=aggregates, facts=facts)


def compute_scores(
    *, as_of: date, model: HealthModel | None = None, external_id: str | None = None, prepared=None
):
    """Scores without writing anything: used by recompute and by the model editor's preview."""
    model = model or published_model()
    prepared = prepared or prepare(as_of=as_of, external_id=external_id)
    return dict(iter_scores(as_of=as_of, spec=ModelSpec.load(model), prepared=prepared))


def iter_scores(*, as_of: date, spec: ModelSpec, prepared: "Prepared") -> Iterator[tuple[int, Score]]:
    """(account pk, score) one account at a time, so a writer can stream them as they come."""
    aggregates = prepared.aggregates
    for facts in prepared.facts:
        pk = facts["pk"]
        yield pk, score_account(facts, aggregates.get(pk, {}), spec, as_of)


def with_latest(facts: dict, agg: dict) -> dict:
    """Fold the latest values read in the metrics scan (PostgreSQL) into the account's facts."""
    for name in SCAN_LATEST:
        facts.setdefault(name, agg.get(name))
    return facts


@transaction.atomic
def recompute_health(*, as_of: date | None = None, external_id: str | None = None) -> RunResult:
    """Score every customer on `as_of` (default today) and replace that day's snapshots.

    Idempotent: a rerun for the same day replaces its snapshots, one per account and day.
    Snapshots are written as accounts are scored: on PostgreSQL the server stores each batch
    while the next is being scored.
    """
    as_of = as_of or timezone.localdate()
    model = published_model()
    prepared = prepare(as_of=as_of, external_id=external_id)
    stale_snapshots = HealthSnapshot.objects.filter(date=as_of)
    if external_id:
        stale_snapshots = stale_snapshots.filter(account__external_id=external_id)
    stale_snapshots.delete()
    scores = iter_scores(as_of=as_of, spec=ModelSpec.load(model), prepared=prepared)
    scored = write_snapshots(as_of=as_of, model=model, results=scores)
    copy_latest_to_accounts(as_of=as_of, external_id=external_id)
    return RunResult(as_of=as_of, model_version=model.version, scored=scored, prepared=prepared)


SNAPSHOT_COLUMNS = (
    "account_id",
    "date",
    "model_id",
    "score",
    "computed_score",
    "tier",
    "confidence",
    "stale",
    "override",
    "measures",
)


def write_snapshots(
    *, as_of: date, model: HealthModel, results: dict[int, Score] | Iterable[tuple[int, Score]]
) -> int:
    """Insert the day's snapshots, from a dict or a stream of (account pk, score); returns how
    many. COPY on PostgreSQL (tens of thousands a second), bulk INSERTs elsewhere."""
    pairs = results.items() if isinstance(results, dict) else results
    written = 0
    if connection.vendor == "postgresql":
        # Compact and without the circular-reference check: stored as jsonb, the same value.
        dumps = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode
        with connection.cursor() as cursor:
            _fast_toast_compression(cursor)
        with (
            connection.cursor() as cursor,
            cursor.copy(
                f"COPY {HealthSnapshot._meta.db_table} ({', '.join(SNAPSHOT_COLUMNS)}) FROM STDIN"
            ) as copy,
        ):
            write_row = copy.write_row
            for pk, r in pairs:
                write_row(
                    (
                        pk,
                        as_of,
                        model.pk,
                        r.score,
                        r.computed_score,
                        r.tier,
                        r.confidence,
                        r.stale,
                        r.override,
                        dumps(r.measures),
                    )
                )
                written += 1
        return written
    snapshots = (
        HealthSnapshot(
            account_id=pk,
            date=as_of,
            model=model,
            score=r.score,
            computed_score=r.computed_score,
            tier=r.tier,
            confidence=r.confidence,
            stale=r.stale,
            override=r.override,
            measures=r.measures,
        )
        for pk, r in pairs
    )
    while batch := list(itertools.islice(snapshots, 2000)):
        HealthSnapshot.objects.bulk_create(batch)
        written += len(batch)
    return written


def _fast_toast_compression(cursor) -> None:
    """Snapshots' measures (about 1.5 KB of JSON each) are compressed as they are stored: with
    lz4 when the server has it, about twice as fast as the default pglz, for this transaction."""
    cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    row = cursor.fetchone()
    if row and row[0]:
        cursor.execute("SET LOCAL default_toast_compression = 'lz4'")


def copy_latest_to_accounts(*, as_of: date, external_id: str | None = None) -> int:
    """One UPDATE: each account scored on `as_of` gets that score, its tier and 7-day change,
    unless it already holds a later day's score (recomputing the past leaves today alone).

    On PostgreSQL the snapshots are joined in (UPDATE … FROM), not probed once per column and
    account."""
    if connection.vendor == "postgresql":
        return _copy_latest_joined(as_of=as_of, external_id=external_id)
    today = HealthSnapshot.objects.filter(account=OuterRef("pk"), date=as_of)
    week_ago = HealthSnapshot.objects.filter(account=OuterRef("pk"), date=as_of - timedelta(days=7))
    accounts = Account.objects.filter(Exists(today)).filter(
        Q(health_scored_on__isnull=True) | Q(health_scored_on__lte=as_of)
    )
    if external_id:
        accounts = accounts.filter(external_id=external_id)
    score_now = Subquery(today.values("score")[:1])
    return accounts.update(
        health_score=score_now,
        health_tier=Subquery(today.values("tier")[:1]),
        health_delta_7d=score_now - Subquery(week_ago.values("score")[:1]),
        health_scored_on=as_of,
    )


def _copy_latest_joined(*, as_of: date, external_id: str | None) -> int:
    quote = connection.ops.quote_name
    accounts, snapshots = quote(Account._meta.db_table), quote(HealthSnapshot._meta.db_table)
    column = {
        name: quote(Account._meta.get_field(name).column)
        for name in ("health_score", "health_tier", "health_delta_7d", "health_scored_on", "external_id")
    }
    only_one = f"AND a.{column['external_id']} = %(external_id)s" if external_id else ""
    sql = f"""
        UPDATE {accounts} AS a
        SET {column["health_score"]} = t.score,
            {column["health_tier"]} = t.tier,
            {column["health_delta_7d"]} = t.score - w.score,
            {column["health_scored_on"]} = %(as_of)s
        FROM {snapshots} AS t
        LEFT JOIN {snapshots} AS w ON w.account_id = t.account_id AND w.date = %(week_ago)s
        WHERE t.account_id = a.id AND t.date = %(as_of)s
          AND (a.{column["health_scored_on"]} IS NULL OR a.{column["health_scored_on"]} <= %(as_of)s)
          {only_one}
    """  # noqa: S608 - every name is ours and quoted; the values are parameters
    params = {"as_of": as_of, "week_ago": as_of - timedelta(days=7), "external_id": external_id}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
