"""`manage.py import_csv KIND FILE`: load a CSV file all-or-nothing, or list every bad row."""

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.columns import KINDS
from ingest.load import count_data_lines, load_csv


class Command(BaseCommand):
    help = (
        "Load a CSV file of accounts, contacts, metrics, events, mrr or touchpoints. The whole file "
        "is checked first; if any row is wrong nothing is loaded and every error is listed. "
        "The columns of each kind are documented in docs/imports.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
        parser.add_argument("file", type=Path, help="path to a UTF-8 CSV file with a header row")
        parser.add_argument("--user", help="username recorded as the one who imported (audit log)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        actor = None
        if options["user"]:
            user_model = get_user_model()
            try:
                actor = user_model.objects.get(**{user_model.USERNAME_FIELD: options["user"]})
            except user_model.DoesNotExist:
                raise CommandError(f"There is no user {options['user']!r}.") from None
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise CommandError(f"Cannot open {path}: {exc.strerror}.") from None

        started = time.monotonic()
        progress = None
        with handle:
            total = 0
            if options["verbosity"] >= 2:
                total = count_data_lines(handle)

                def progress(processed: int, total_rows: int) -> None:
                    self.stderr.write(f"  checked {processed:,} of {total_rows:,} rows", ending="\r")

            result = load_csv(
                kind=options["kind"],
                file=handle,
                actor=actor,
                name=path.name,
                via="command",
                progress=progress,
                total_rows=total,
            )
        elapsed = time.monotonic() - started

        if not result.ok:
            for error in result.errors:
                where = f"line {error['line']}"
                if error["column"]:
                    where += f", column {error['column']}"
                self.stdout.write(f"{where}: {error['reason']}")
            if result.error_count > len(result.errors):
                self.stdout.write(f"… and {result.error_count - len(result.errors):,} more errors not shown.")
            raise CommandError(
                f"{path.name}: {result.error_count:,} error(s) in {result.rows:,} rows; nothing was loaded."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {result.loaded:,} {options['kind']} rows from {path.name} in {elapsed:.1f} s: "
                f"{result.created:,} created, {result.updated:,} updated, {result.unchanged:,} unchanged."
            )
        )
