"""What a day's scoring reads, set-based: the customers scored, one GROUP BY over the metrics
window (on PostgreSQL it also carries the latest reported values), and one grouped query each
for the last touch, champions, cancellation intent and CSM overrides, joined in memory by
account id. The arithmetic over them is scoring.py; the run that writes snapshots, recompute.py.

`prepare` reads a day once; the scoring run and the alerts that follow it share what it read.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Func, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accounts.models import Account, Contact, Touchpoint

from .models import DailyMetric, EventKind, HealthOverride, SignalEvent
from .scoring import CANCELLATION_WINDOW_DAYS

METRICS_WINDOW_DAYS = 150  # the longest lookback: 30 days against the 90 before


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
            # The first day the source reported logins at all (zeros included): the evidence a
            # "no login" cap needs. A source that never sends logins gives none.
            first_login_report=Min("date", filter=Q(logins__isnull=False)),
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


def with_latest(facts: dict, agg: dict) -> dict:
    """Fold the latest values read in the metrics scan (PostgreSQL) into the account's facts."""
    for name in SCAN_LATEST:
        facts.setdefault(name, agg.get(name))
    return facts
