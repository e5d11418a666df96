"""One-time form tokens for tests that post the forms which send or create
(csworkbench.core.idempotency): `client.post(url, with_token(alice_csm, data))`."""

import re

from csworkbench.core.idempotency import FIELD, new_form_token

_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def with_token(user, data: dict | None = None, **more) -> dict:
    """`data` with a fresh token of `user`'s, as the rendered form would carry."""
    return {**(data or {}), **more, FIELD: new_form_token(user)}


def tokens_in(response) -> list[str]:
    """The tokens a rendered page or fragment carries, in order."""
    return _TOKEN.findall(response.content.decode())
