"""Text the app writes for people to read later — a notification, a task's guidance — is kept in
every language the app speaks, so each reader sees it in theirs, whoever (or whichever worker)
wrote it and whatever language was active then."""

from collections.abc import Callable

from django.conf import settings
from django.utils import translation


def in_every_language(render: Callable[[], object]) -> dict[str, str]:
    """`render()` once per language of the app: {"en": …, "zh-hant": …, "zh-hans": …}."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(render())
    return texts


def in_reader_language(texts: dict[str, str] | None, fallback: str) -> str:
    """The text in the active language, else `fallback` (rows written before texts were kept)."""
    if not texts:
        return fallback
    return texts.get(translation.get_language() or "", "") or fallback
