"""Exit interviews and the reason taxonomy they are counted by."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import ValueTier
from accounts.querysets import LifecycleStage


class LocalisedName(models.Model):
    """A name in English with its Traditional and Simplified Chinese forms; `label` picks the
    one for the active language."""

    name = models.CharField(_("name (English)"), max_length=100)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=100, blank=True)
    name_zh_hans = models.CharField(_("name (Simplified Chinese)"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = (get_language() or "en").lower()
        if language.startswith("zh-hant") or language in ("zh-tw", "zh-hk"):
            return self.name_zh_hant or self.name
        if language.startswith("zh"):
            return self.name_zh_hans or self.name
        return self.name


class ReasonCategory(LocalisedName):
    key = models.SlugField(_("key"), max_length=32, unique=True)
    avoidable = models.BooleanField(
        _("avoidable by default"),
        default=True,
        help_text=_("Unavoidable churn is reported apart: not a save target."),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("reason category")
        verbose_name_plural = _("reason categories")
        ordering = ["position", "key"]


class SubReason(LocalisedName):
    category = models.ForeignKey(
        ReasonCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="sub_reasons"
    )
    key = models.SlugField(_("key"), max_length=32)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("sub-reason")
        verbose_name_plural = _("sub-reasons")
        ordering = ["category__position", "position", "key"]
        constraints = [models.UniqueConstraint(fields=["category", "key"], name="sub_reason_unique_key")]

    @property
    def path(self) -> str:
        """ "price_value/too_expensive": how imports and the demo name a reason."""
        return f"{self.category.key}/{self.key}"


# --- Exit interviews ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One of the five exit-interview questions. The English goes through the catalogue; the
    Chinese wording is DESIGN.md's own, kept here so the customer always reads it exactly."""

    number: int
    en: Any  # a lazy translation string
    zh_hant: str
    zh_hans: str

    @property
    def field(self) -> str:
        return f"answer_{self.number}"

    @property
    def text(self) -> str:
        language = (get_language() or "en").lower()
        if language.startswith("zh-hant") or language in ("zh-tw", "zh-hk"):
            return self.zh_hant
        if language.startswith("zh"):
            return self.zh_hans
        return str(self.en)


QUESTIONS: tuple[Question, ...] = (
    Question(
        1,
        _("What was the main reason you decided to stop using the product?"),
        "導致您做出這個決定的最主要原因是什麼?",
        "导致您做出这个决定的最主要原因是什么?",
    ),
    Question(
        2,
        _("Before deciding, did you ask for help or report the problem? What happened?"),
        "在決定離開之前,是否曾尋求幫助或反饋問題?",
        "在决定离开之前,是否曾寻求帮助或反馈问题?",
    ),
    Question(
        3,
        _(
            "Looking back, if one thing could have been better, what would it be (features, ease of "
            "use, training and support, price)?"
        ),
        "如果有一個方面我們可以做得更好,您認為是什麼?",
        "如果有一个方面我们可以做得更好,您认为是什么?",
    ),
    Question(
        4,
        _("What will you use instead, or how will you now solve the problem we solved?"),
        "您接下來打算用什麼方案替代我們?",
        "您接下来打算用什么方案替代我们?",
    ),
    Question(
        5,
        _("Under what circumstances would you consider coming back?"),
        "在何種情況下,您會考慮重新使用我們的產品?",
        "在何种情况下,您会考虑重新使用我们的产品?",
    ),
)
ANSWER_FIELDS = tuple(question.field for question in QUESTIONS)
ANSWER_MAX_CHARS = 4000


class InterviewStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    DONE = "done", _("Done")


class InterviewChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    VIDEO = "video", _("Video call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    SURVEY = "survey", _("Self-serve survey")


class Likelihood(models.IntegerChoices):
    VERY_UNLIKELY = 1, _("Very unlikely")
    UNLIKELY = 2, _("Unlikely")
    UNSURE = 3, _("Not sure")
    LIKELY = 4, _("Likely")
    VERY_LIKELY = 5, _("Very likely")


class ExitInterview(models.Model):
    """The exit interview of one churned account, held by a neutral interviewer (never the
    account's CSM). The account's facts at churn are copied in when the interview starts, so
    later changes to the account do not rewrite history."""

    account = models.OneToOneField(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="exit_interview"
    )
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("interviewer"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="exit_interviews",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=InterviewStatus.choices, default=InterviewStatus.DRAFT
    )
    held_on = models.DateField(_("held on"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=InterviewChannel.choices, blank=True)
    respondent_name = models.CharField(_("respondent"), max_length=200, blank=True)
    respondent_role = models.CharField(_("respondent's role"), max_length=100, blank=True)

    answer_1 = models.TextField(_("answer 1"), blank=True)
    answer_2 = models.TextField(_("answer 2"), blank=True)
    answer_3 = models.TextField(_("answer 3"), blank=True)
    answer_4 = models.TextField(_("answer 4"), blank=True)
    answer_5 = models.TextField(_("answer 5"), blank=True)

    # The account at churn, copied when the interview starts.
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    tier_at_churn = models.CharField(_("value tier at churn"), max_length=1, choices=ValueTier.choices)
    mrr_at_churn = models.DecimalField(_("MRR at churn"), max_digits=12, decimal_places=2, default=0)
    lifecycle_stage_at_churn = models.CharField(
        _("lifecycle stage at churn"), max_length=16, choices=LifecycleStage.choices
    )
    csm_at_churn = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CSM at churn"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    csm_name_at_churn = models.CharField(_("CSM at churn"), max_length=300, blank=True)

    primary_category = models.ForeignKey(
        ReasonCategory,
        verbose_name=_("main reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="primary_interviews",
    )
    sub_reason = models.ForeignKey(
        SubReason,
        verbose_name=_("sub-reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interviews",
    )
    secondary_categories = models.ManyToManyField(
        ReasonCategory, verbose_name=_("other reasons"), blank=True, related_name="secondary_interviews"
    )
    avoidable = models.BooleanField(_("avoidable"), null=True, blank=True)
    competitor = models.CharField(_("competitor named"), max_length=200, blank=True)
    win_back_condition = models.TextField(_("win-back condition"), blank=True)
    likelihood_to_return = models.PositiveSmallIntegerField(
        _("likelihood to return"), choices=Likelihood.choices, null=True, blank=True
    )

    created_at = models.DateTimeField(_("started"), default=timezone.now)
    updated_at = models.DateTimeField(_("last saved"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("exit interview")
        verbose_name_plural = _("exit interviews")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["interviewer", "status", "-completed_at"], name="interview_mine_idx"),
            models.Index(fields=["status", "completed_at"], name="interview_status_done_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(completed_at__isnull=False),
                name="interview_done_has_completed_at",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Exit interview: %(account)s") % {"account": self.account})

    @property
    def is_done(self) -> bool:
        return self.status == InterviewStatus.DONE

    def answers(self) -> list[tuple[Question, str]]:
        return [(question, getattr(self, question.field)) for question in QUESTIONS]


class SurveyLanguage(models.TextChoices):
    EN = "en", "English"
    ZH_HANT = "zh-hant", "繁體中文"
    ZH_HANS = "zh-hans", "简体中文"


SURVEY_VALID_DAYS = 14


def _survey_expiry():
    return timezone.now() + timedelta(days=SURVEY_VALID_DAYS)


class SurveyInvitation(models.Model):
    """A one-time link that lets the customer answer the five questions themselves. Only a hash
    of the random token is kept; the link carries the token, signed."""

    interview = models.ForeignKey(
        ExitInterview, verbose_name=_("interview"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    language = models.CharField(
        _("language"), max_length=8, choices=SurveyLanguage.choices, default=SurveyLanguage.EN
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), default=_survey_expiry)
    used_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.email

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())


# --- The closed loop: action items --------------------------------------------------------------


class ActionTeam(models.TextChoices):
    PRODUCT = "product", _("Product")
    MARKETING = "marketing", _("Marketing")
    CS = "cs", _("Customer success")
    SALES = "sales", _("Sales")


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("Under way")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class ActionItem(models.Model):
    """Something to change because customers left, raised from an exit interview or a churn
    review and tracked to done. Its reason category lets later reviews check whether that reason
    became rarer."""

    interview = models.ForeignKey(
        ExitInterview,
        verbose_name=_("exit interview"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
    )
    review_period = models.CharField(
        _("churn review"),
        max_length=8,
        blank=True,
        help_text=_("The period of the churn review that raised it, such as 2026-10."),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    team = models.CharField(_("team"), max_length=12, choices=ActionTeam.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    category = models.ForeignKey(
        ReasonCategory,
        verbose_name=_("reason category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_items",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["due_on", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["category", "status"], name="action_item_category_idx"),
            models.Index(fields=["review_period"], name="action_item_review_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(interview__isnull=False) | ~Q(review_period=""), name="action_item_has_source"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_at__isnull=False), name="action_item_done_has_done_at"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
