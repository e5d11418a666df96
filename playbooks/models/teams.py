"""Teams: their members and managers, their working calendar (time zone, days, hours,
holidays) and the chat webhooks their notifications go to."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..business_time import BusinessCalendar


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


def validate_working_days(value: str) -> None:
    if not value or any(ch not in "1234567" for ch in value) or len(set(value)) != len(value):
        raise ValidationError(_("Use the digits 1 (Monday) to 7 (Sunday), each at most once."))


# Callables, not fixed times: Django's check for fixed defaults (fields.W161) compares a fixed
# time with the clock and warns within ten seconds of it, so `check --deploy --fail-level
# WARNING` would fail at 09:00 and 18:00 every day.
def default_work_start() -> datetime.time:
    return datetime.time(9, 0)


def default_work_end() -> datetime.time:
    return datetime.time(18, 0)


class Team(models.Model):
    """A CS team: its members, its managers, its working calendar and its chat channels."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Taipei", validators=[validate_time_zone]
    )
    working_days = models.CharField(
        _("working days"),
        max_length=7,
        default="12345",
        validators=[validate_working_days],
        help_text=_("ISO weekdays: 1 is Monday, 7 is Sunday."),
    )
    work_starts = models.TimeField(_("working day starts"), default=default_work_start)
    work_ends = models.TimeField(_("working day ends"), default=default_work_end)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("managers"), related_name="managed_teams", blank=True
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(work_ends__gt=models.F("work_starts")), name="team_day_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def calendar(self) -> BusinessCalendar:
        """The team's calendar. Reads holidays, so prefetch `holidays` when building many."""
        return BusinessCalendar(
            time_zone=self.time_zone,
            working_days=frozenset(int(d) for d in self.working_days),
            starts=self.work_starts,
            ends=self.work_ends,
            holidays=frozenset(h.date for h in self.holidays.all()),
        )


class Holiday(models.Model):
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="holiday_one_per_team_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class WebhookFlavor(models.TextChoices):
    SLACK = "slack", _("Slack-compatible")
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom")


class WebhookChannel(models.Model):
    """A team's chat channel: an incoming-webhook URL in one of three payload formats."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(_("name"), max_length=100)
    flavor = models.CharField(_("format"), max_length=16, choices=WebhookFlavor.choices)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk only: the robot's signing secret, if it uses signed requests."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("chat webhook")
        verbose_name_plural = _("chat webhooks")
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.team}: {self.name}"
