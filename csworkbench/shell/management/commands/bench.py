# ruff: noqa: S608 -- the SQL below is built from constants and dates, never from user input.
"""`make bench`: builds (or reuses) a large PostgreSQL dataset and prints timings.

Figures, never assertions: speed goals are read by people from this output and recorded in
docs/benchmarks.md. Each figure comes with its floor, measured in the same run, so the ratio
means the same on any machine.
"""

import csv
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from health.models import METRIC_FIELDS, DailyMetric


def timed(fn, repeat: int = 1, before=None) -> tuple[float, object]:
    """Median wall time of `repeat` runs of `fn`; `before` runs ahead of each, untimed."""
    times, result = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def vacuum(*tables: str) -> None:
    """VACUUM (ANALYZE) the tables, or the whole database: outside any transaction."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(tables))


class Command(BaseCommand):
    help = "Build or reuse the benchmark dataset on PostgreSQL and print the health engine's figures."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=50_000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--load-rows", type=int, default=1_000_000)
        parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the dataset")
        parser.add_argument(
            "--only",
            choices=["pages", "health"],
            help="run only the page benchmark, or only the recompute and load figures",
        )
        parser.add_argument(
            "--pages-at",
            default="1000,10000",
            help="account counts for the page benchmark besides --accounts, each in its own database "
            "(<name>_1k, <name>_10k …), comma-separated; empty for none",
        )
        parser.add_argument("--page-requests", type=int, default=30, help="timed requests per page")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")
        accounts, days = options["accounts"], options["days"]
        today = timezone.localdate()
        only = options["only"]
        sizes = sorted({int(n) for n in options["pages_at"].split(",") if n.strip()} | {accounts})
        base_name = connection.settings_dict["NAME"]
        page_figures = {}
        for size in sizes if only != "health" else []:
            if size != accounts:
                self.use_database(self.sized_name(base_name, size))
            self.prepare(size, days, today, options["rebuild"])
            page_figures[size] = self.bench_pages(size, today, options["page_requests"])
            if size != accounts:
                self.use_database(base_name)
        if page_figures:
            self.print_page_table(page_figures)
        if only == "pages":
            return
        self.prepare(accounts, days, today, options["rebuild"] and only == "health")
        self.bench_recompute(today)
        if options["load_rows"]:
            self.bench_load(options["load_rows"], today)

    @staticmethod
    def sized_name(base: str, size: int) -> str:
        return f"{base}_{size // 1000}k" if size % 1000 == 0 else f"{base}_{size}"

    def use_database(self, name: str) -> None:
        """Point the default connection at another database (created and migrated if needed)."""
        from django.core.management import call_command

        connection.close()
        import psycopg

        settings = connection.settings_dict

        with psycopg.connect(
            dbname="postgres",
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            user=settings["USER"] or None,
            password=settings["PASSWORD"] or None,
            autocommit=True,
        ) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                admin.execute(f'CREATE DATABASE "{name}"')
        settings["NAME"] = name
        connection.close()
        call_command("migrate", interactive=False, verbosity=0)

    def prepare(self, accounts: int, days: int, today, rebuild: bool) -> None:
        """Build the dataset if it is missing, incomplete or a rebuild is asked for; then the page
        data (users, tasks, interviews, plans, snapshot history) if it is missing."""
        from csworkbench.shell import bench_pages

        complete = Account.objects.count() == accounts and DailyMetric.objects.exists()
        built = False
        if rebuild or not complete:
            self.build(accounts, days, today)
            built = True
        else:
            self.say(
                f"Reusing {accounts:,} accounts × {days} days of metrics"
                f" ({connection.settings_dict['NAME']})."
            )
        if built or not bench_pages.page_data_present():
            self.clear_page_data()
            bench_pages.build_page_data(accounts, today, self.say)
            if not Account.objects.filter(health_score__isnull=False).exists():
                from health.alerts import raise_alerts
                from health.recompute import recompute_health

                result = recompute_health(as_of=today)
                raise_alerts(as_of=today, prepared=result.prepared)
            vacuum()
        bench_pages.ensure_churning_accounts(today, self.say)

    def clear_page_data(self) -> None:
        from django.contrib.auth import get_user_model

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE playbooks_task, playbooks_retentionplan, interviews_exitinterview, "
                "accounts_mrrmovement, health_healthsnapshot CASCADE"
            )
            get_user_model().objects.filter(username__startswith="bench-").delete()
            cursor.execute("DELETE FROM playbooks_team WHERE name = 'Bench team'")
            cursor.execute(
                "UPDATE accounts_account SET status = 'active', churned_on = NULL, churn_type = '' "
                "WHERE status = 'churned'"
            )

    def bench_pages(self, accounts: int, today, requests: int) -> list:
        from csworkbench.shell import bench_pages

        self.say(f"Pages at {accounts:,} accounts: {requests} timed requests each …")
        figures = bench_pages.bench_pages(today, requests)
        floor = figures[0].median_ms
        for figure in figures:
            self.say(
                f"  {figure.name:<52} median {figure.median_ms:7.1f} ms  p95 {figure.p95_ms:7.1f} ms"
                f"  {figure.median_ms / floor:6.1f}× floor  {figure.queries:3d} queries  HTTP {figure.status}"
            )
        return figures

    def print_page_table(self, page_figures: dict) -> None:
        import os

        sizes = sorted(page_figures)
        self.say("")
        self.say(
            f"Pages at scale (median ms / p95 ms / × floor / queries); load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; goal ≤ 5× floor, p95 < 150 ms, "
            "queries flat"
        )
        header = "| page | " + " | ".join(f"{size:,} accounts" for size in sizes) + " |"
        self.say(header)
        self.say("| --- |" + " --- |" * len(sizes))
        for i, figure in enumerate(page_figures[sizes[0]]):
            cells = []
            for size in sizes:
                f, floor = page_figures[size][i], page_figures[size][0].median_ms
                cells.append(
                    f"{f.median_ms:.1f} / {f.p95_ms:.1f} / {f.median_ms / floor:.1f}× / {f.queries}q"
                )
            self.say(f"| {figure.name} | " + " | ".join(cells) + " |")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def build(self, accounts: int, days: int, today) -> None:
        self.say(f"Building {accounts:,} accounts × {days} days of metrics with generate_series …")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE accounts_account, health_dailymetric, health_healthsnapshot, health_alert, "
                "accounts_contact, accounts_touchpoint, accounts_mrrmovement, health_signalevent CASCADE"
            )
            extra_columns, extra_values, extra_params = self.other_account_columns()
            cursor.execute(
                f"""
                INSERT INTO accounts_account (external_id, name, industry, employee_band, region,
                    acquisition_channel, plan, mrr, contract_start, renewal_date, value_tier, status,
                    churned_on, churn_type, created_at, updated_at, health_tier{extra_columns})
                SELECT 'BENCH-' || lpad(i::text, 6, '0'), 'Bench account ' || i,
                    (ARRAY['software','retail','education','finance','logistics'])[1 + i %% 5],
                    (ARRAY['1-10','11-50','51-200','201-1000'])[1 + i %% 4], 'Taipei',
                    'inbound', 'Growth', 100 + (i * 37) %% 5000, %s::date - (30 + i %% 1000),
                    %s::date + (i %% 365), (ARRAY['A','B','B','C','C','C'])[1 + i %% 6], 'active',
                    NULL, '', now(), now(), ''{extra_values}
                FROM generate_series(1, %s) AS i
                """,
                [today, today, *extra_params, accounts],
            )
            cursor.execute(
                """
                INSERT INTO accounts_contact (account_id, name, email, phone, role, is_champion,
                    is_decision_maker, is_primary, left_on)
                SELECT id, 'Champion ' || id, '', '', 'Ops lead', true, false, true,
                    CASE WHEN id %% 17 = 0 THEN %s::date - 20 END
                FROM accounts_account
                """,
                [today],
            )
            cursor.execute(
                """
                INSERT INTO accounts_touchpoint (account_id, kind, occurred_at, subject, body, sentiment,
                    created_at)
                SELECT id, 'call', now() - make_interval(days => (id %% 40)::int), 'Check-in',
                    CASE WHEN id %% 23 = 0 THEN 'They said it is too expensive' ELSE 'All good' END,
                    'neutral', now()
                FROM accounts_account
                """,
                [],
            )
            # Usage that drifts per account (some slipping), weekends quiet, a few sources stale.
            cursor.execute(
                f"""
                INSERT INTO health_dailymetric (account_id, date, logins, active_users, licensed_seats,
                    core_events, features_used, features_offered, tickets_opened, high_priority_tickets,
                    open_high_priority, first_response_hours, csat_count, csat_sum, nps, emails_sent,
                    emails_opened, training_sessions, release_notes_views, invoice_days_overdue)
                SELECT a.id, d.day,
                    greatest(0, (a.id %% 20 + 5)
                        * (CASE WHEN extract(isodow FROM d.day) > 5 THEN 0.2 ELSE 1 END)
                        * (CASE WHEN a.id %% 5 = 0 THEN 1 - d.n / {days}.0 * 0.8 ELSE 1 END))::int,
                    (a.id %% 10 + 2), 15, (a.id %% 50 + 20)::int, (a.id %% 12 + 2), 20,
                    (d.n %% 9 = 0)::int, 0, (a.id %% 31 = 0)::int, 4.5,
                    (d.n %% 30 = 0)::int, CASE WHEN d.n %% 30 = 0 THEN 3 + a.id %% 3 END,
                    CASE WHEN d.n %% 90 = 0 THEN a.id %% 11 END, (d.n %% 7 = 0)::int * 2,
                    (d.n %% 14 = 0)::int,
                    (d.n %% 45 = 0)::int, (a.id %% 3 = 0)::int, CASE WHEN a.id %% 41 = 0 THEN 20 ELSE 0 END
                FROM accounts_account a
                CROSS JOIN LATERAL (
                    SELECT (%s::date - g)::date AS day, {days} - g AS n FROM generate_series(0, {days} - 1) g
                ) d
                WHERE NOT (a.id %% 97 = 0 AND d.day > %s::date - 12)
                """,
                [today, today],
            )
        vacuum()  # sets the visibility map and hint bits once, rather than in the first timed run
        self.say(f"  built in {time.perf_counter() - started:.1f} s")

    BUILT_ACCOUNT_COLUMNS = frozenset(
        {
            "id",
            "external_id",
            "name",
            "industry",
            "employee_band",
            "region",
            "acquisition_channel",
            "plan",
            "mrr",
            "contract_start",
            "renewal_date",
            "value_tier",
            "status",
            "churned_on",
            "churn_type",
            "created_at",
            "updated_at",
            "health_tier",
        }
    )

    def other_account_columns(self) -> tuple[str, str, list]:
        """Columns of accounts_account the build does not name (added since): each required one
        gets its model default, so a new NOT NULL column does not break the build."""
        columns, params = [], []
        for model_field in Account._meta.concrete_fields:
            if model_field.column in self.BUILT_ACCOUNT_COLUMNS or model_field.null:
                continue
            columns.append(connection.ops.quote_name(model_field.column))
            params.append(model_field.get_db_prep_save(model_field.get_default(), connection))
        if not columns:
            return "", "", []
        return ", " + ", ".join(columns), ", " + ", ".join(["%s"] * len(columns)), params

    def floor_sql(self, today) -> str:
        """One hand-written statement computing the same per-account aggregates as scoring reads
        from the metrics: every windowed sum and count, and the latest reported values."""

        def window(first: int, last: int) -> str:
            return f"date <= DATE '{today}' - {first} AND date >= DATE '{today}' - {last}"

        w14, p60, w30, pc60, p90, w90 = (
            window(0, 13),
            window(14, 73),
            window(0, 29),
            window(30, 89),
            window(30, 119),
            window(0, 89),
        )
        parts = [
            f"count(date) FILTER (WHERE logins > 0 AND {w14})",
            f"count(date) FILTER (WHERE logins > 0 AND {p60})",
        ]
        for column, windows in (
            ("logins", (w14, p60, w30)),
            ("active_users", (w30,)),
            ("core_events", (w30, pc60)),
            ("tickets_opened", (w30, p90)),
            ("training_sessions", (w90, w30)),
            ("release_notes_views", (w30,)),
        ):
            for w in windows:
                parts.append(f"sum({column}) FILTER (WHERE {w})")
                parts.append(f"count({column}) FILTER (WHERE {w})")
        for column in ("csat_count", "csat_sum", "emails_sent", "emails_opened"):
            parts.append(f"sum({column}) FILTER (WHERE {w90})")
        for column, days in (
            ("licensed_seats", 89),
            ("features_used", 29),
            ("features_offered", 89),
            ("open_high_priority", 29),
            ("invoice_days_overdue", 29),
        ):
            parts.append(
                f"(array_agg({column} ORDER BY date DESC)"
                f" FILTER (WHERE {column} IS NOT NULL AND {window(0, days)}))[1]"
            )
        aggregates = ",\n              ".join(parts)
        return f"""
            SELECT account_id, max(date), min(date), max(date) FILTER (WHERE logins > 0),
              {aggregates}
            FROM health_dailymetric
            WHERE date > DATE '{today}' - 150 AND date <= DATE '{today}'
            GROUP BY account_id
        """

    def bench_recompute(self, today) -> None:
        from health.alerts import raise_alerts
        from health.recompute import recompute_health

        sql = self.floor_sql(today)

        def floor():
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return len(cursor.fetchall())

        # Autovacuum cleans up between two daily runs; this server may run without it, and the
        # runs here follow each other within seconds, so the tables the recompute rewrites are
        # vacuumed before each run (untimed): otherwise every run would also pay for the dead
        # rows of the runs before it.
        rewritten = ("accounts_account", "health_healthsnapshot", "health_alert")
        floor_s, rows = timed(floor, repeat=3)
        recompute_s, result = timed(
            lambda: recompute_health(as_of=today), repeat=3, before=lambda: vacuum(*rewritten)
        )
        alerts_s, _ = timed(lambda: raise_alerts(as_of=today, prepared=result.prepared))
        self.say("")
        self.say("Daily recompute (all accounts, one day)")
        self.say(f"  floor: one hand-written aggregate SQL over {rows:,} accounts  {floor_s:7.2f} s")
        self.say(
            f"  recompute_health ({result.scored:,} snapshots)            {recompute_s:7.2f} s"
            f"   = {recompute_s / floor_s:.2f}× floor   (goal ≤ 2× and < 30 s)"
        )
        self.say(f"  raise_alerts (on the same reads)                  {alerts_s:7.2f} s")

    def bench_load(self, rows: int, today) -> None:
        from ingest.load import load_csv

        external_ids = list(Account.objects.order_by("pk").values_list("external_id", flat=True))
        per_account = max(1, rows // len(external_ids))
        columns = ["account", "date", *METRIC_FIELDS]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "metrics.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                written = 0
                for external_id in external_ids:
                    for n in range(per_account):
                        if written >= rows:
                            break
                        day = today - timedelta(days=400 + n)
                        writer.writerow(
                            [
                                external_id,
                                day.isoformat(),
                                5,
                                3,
                                10,
                                40,
                                5,
                                20,
                                0,
                                0,
                                0,
                                "",
                                "",
                                "",
                                "",
                                4,
                                2,
                                0,
                                1,
                                0,
                            ]
                        )
                        written += 1
            size_mb = path.stat().st_size / 1e6

            def bare_copy():
                with connection.cursor() as cursor:
                    cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
                    cursor.execute(
                        "CREATE UNLOGGED TABLE bench_bare_copy (account text, date date, "
                        + ", ".join(f"{name} numeric" for name in METRIC_FIELDS)
                        + ")"
                    )
                    with (
                        path.open("rb") as handle,
                        cursor.copy("COPY bench_bare_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
                    ):
                        while chunk := handle.read(1 << 20):
                            copy.write(chunk)
                    cursor.execute("DROP TABLE bench_bare_copy")

            def load():
                with path.open("rb") as handle:
                    result = load_csv(kind="metrics", file=handle, name=path.name)
                if not result.ok:
                    raise CommandError(f"the benchmark file did not load: {result.errors[:5]}")
                return result

            def clean_up():
                # Rows left by an interrupted run, then the dead rows of the last one: the load
                # starts from the dataset as built, as it would after autovacuum.
                DailyMetric.objects.filter(date__lt=today - timedelta(days=399)).delete()
                vacuum("health_dailymetric")

            copy_s, _ = timed(bare_copy, repeat=3)
            load_s, _ = timed(load, repeat=3, before=clean_up)
            clean_up()
        self.say("")
        self.say(f"CSV load of {written:,} metric rows ({size_mb:.0f} MB), median of three runs")
        self.say(f"  floor: bare COPY into a bare table           {copy_s:7.2f} s")
        self.say(
            f"  import_csv metrics                           {load_s:7.2f} s"
            f"   = {load_s / copy_s:.2f}× COPY   (goal ≤ 3×)"
        )
