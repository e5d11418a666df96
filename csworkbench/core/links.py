"""Absolute links for what leaves the app (emails, chat posts, survey invitations)."""

from django.conf import settings


def site_url() -> str:
    return getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")


def absolute_url(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{site_url()}/{url.lstrip('/')}"
