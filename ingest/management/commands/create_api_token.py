"""`manage.py create_api_token NAME`: a bearer token for the integration API, printed once."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiToken
from ingest.tokens import create_api_token


class Command(BaseCommand):
    help = (
        "Create an API token for POST /api/v1/metrics and print it once. Only a hash is stored: "
        "copy the token now, it cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="what the token is for, e.g. 'product-analytics'; must be unique")
        parser.add_argument("--user", help="username recorded as the token's creator")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if ApiToken.objects.filter(name=name).exists():
            raise CommandError(f"A token named {name!r} already exists; choose another name.")
        creator = None
        if options["user"]:
            user_model = get_user_model()
            try:
                creator = user_model.objects.get(**{user_model.USERNAME_FIELD: options["user"]})
            except user_model.DoesNotExist:
                raise CommandError(f"There is no user {options['user']!r}.") from None
        try:
            token, raw = create_api_token(name=name, created_by=creator)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"API token {token.name!r} (starts with {token.prefix}):")
        self.stdout.write(raw)
        self.stdout.write(
            self.style.WARNING(
                "Copy it now: it will not be shown again. Only a hash is stored. "
                f"Send it as the header 'Authorization: Bearer {token.prefix}…'."
            )
        )
