"""A version key for a set of tables: it changes with every committed write to them, so a cache
keyed by it never serves anything stale (the reports, the health backtest)."""

from django.db import connection


def data_version(tables: tuple[str, ...], *, names: bool = True) -> str | None:
    """A key that changes with every committed write to `tables`, or None where the database
    keeps no such counters (SQLite: the reports are then computed each time). With `names`, it
    also changes when a user's name changes (the CSM cut shows names).

    PostgreSQL counts the rows each table had inserted, updated and deleted, whatever wrote them
    (services, bulk updates, the recompute's COPY, raw SQL). A writing session publishes its
    counts when its transaction ends, at most once a second, so a cached report can trail a
    write by about a second. A statistics reset changes `stats_reset`, so it cannot bring an old
    key back. The names are hashed from the user table itself: a few hundred rows, not counters,
    so a login (which writes `last_login`) leaves the key alone."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # Within a transaction PostgreSQL would keep serving the counters it read first.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            """
            SELECT coalesce(string_agg(relname || '=' || (n_tup_ins + n_tup_upd + n_tup_del), ','
                                       ORDER BY relname), '')
                || ',' || coalesce((SELECT stats_reset::text FROM pg_stat_database
                                    WHERE datname = current_database()), '')
                || ',' || CASE WHEN %s THEN (
                    SELECT md5(coalesce(string_agg(
                        id || ':' || username || ':' || first_name || ':' || last_name, ',' ORDER BY id), ''))
                    FROM auth_user) ELSE '' END
            FROM pg_stat_user_tables WHERE relname = ANY(%s)
            """,
            [names, list(tables)],
        )
        return cursor.fetchone()[0]
