from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact
from csworkbench.core.widgets import IsoDateInput

from .models import (
    ANSWER_MAX_CHARS,
    QUESTIONS,
    ExitInterview,
    InterviewChannel,
    Likelihood,
    ReasonCategory,
    SubReason,
    SurveyLanguage,
)

AVOIDABLE_CHOICES = [("true", _("Avoidable")), ("false", _("Unavoidable"))]


def _to_bool(value: str) -> bool:
    return value == "true"


def bool_choice(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def categories_for(current: Any = None):
    """Categories in use, plus the ones an existing interview already names."""
    keep = [c.pk for c in current] if current else []
    return ReasonCategory.objects.filter(Q(is_active=True) | Q(pk__in=keep))


def sub_reasons_for(current: SubReason | None = None):
    keep = [current.pk] if current else []
    return SubReason.objects.filter(
        Q(is_active=True, category__is_active=True) | Q(pk__in=keep)
    ).select_related("category")


def sub_reason_choices(sub_reasons, category: ReasonCategory | None) -> list:
    """One category's sub-reasons when it is chosen; otherwise all of them, grouped, so the
    form works without JavaScript (the server checks the pair)."""
    blank = [("", "—")]
    if category is not None:
        return blank + [(s.pk, s.label) for s in sub_reasons if s.category_id == category.pk]
    groups: dict[int, tuple[str, list]] = {}
    for sub in sub_reasons:
        groups.setdefault(sub.category_id, (sub.category.label, []))[1].append((sub.pk, sub.label))
    return blank + list(groups.values())


class InterviewForm(forms.Form):
    """The interview page: the five questions first, then the structured fields."""

    answer_1 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 4})
    )
    answer_2 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 4})
    )
    answer_3 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 4})
    )
    answer_4 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 4})
    )
    answer_5 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 4})
    )
    held_on = forms.DateField(label=_("Held on"), required=False, widget=IsoDateInput())
    channel = forms.ChoiceField(
        label=_("How it was held"), required=False, choices=[("", "—"), *InterviewChannel.choices]
    )
    respondent_name = forms.CharField(label=_("Who answered"), required=False, max_length=200)
    respondent_role = forms.CharField(label=_("Their role"), required=False, max_length=100)
    primary_category = forms.ModelChoiceField(
        label=_("Main reason"), required=False, queryset=ReasonCategory.objects.none(), empty_label="—"
    )
    sub_reason = forms.ModelChoiceField(
        label=_("Sub-reason"), required=False, queryset=SubReason.objects.none(), empty_label="—"
    )
    avoidable = forms.TypedChoiceField(
        label=_("Avoidable?"),
        required=False,
        choices=AVOIDABLE_CHOICES,
        coerce=_to_bool,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    secondary_categories = forms.ModelMultipleChoiceField(
        label=_("Other reasons"),
        required=False,
        queryset=ReasonCategory.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    competitor = forms.CharField(label=_("Competitor named"), required=False, max_length=200)
    win_back_condition = forms.CharField(
        label=_("What would win them back"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    likelihood_to_return = forms.TypedChoiceField(
        label=_("Likelihood to return"),
        required=False,
        choices=[("", "—"), *Likelihood.choices],
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args: Any, interview: ExitInterview | None = None, **kwargs: Any) -> None:
        if interview is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(interview)
        super().__init__(*args, **kwargs)
        for question in QUESTIONS:
            # Evaluated now, in the request's language.
            self.fields[question.field].label = question.text
        secondary = list(interview.secondary_categories.all()) if interview and interview.pk else []
        primary = [interview.primary_category] if interview and interview.primary_category_id else []
        categories = categories_for(primary + secondary)
        self.fields["primary_category"].queryset = categories
        self.fields["secondary_categories"].queryset = categories
        current_sub = interview.sub_reason if interview and interview.sub_reason_id else None
        sub_reasons = sub_reasons_for(current_sub)
        self.fields["sub_reason"].queryset = sub_reasons
        self.fields["sub_reason"].choices = sub_reason_choices(list(sub_reasons), None)

    @property
    def answer_fields(self) -> list:
        return [self[question.field] for question in QUESTIONS]

    def clean(self) -> dict:
        data = super().clean()
        category, sub = data.get("primary_category"), data.get("sub_reason")
        if sub is not None and (category is None or sub.category_id != category.pk):
            self.add_error("sub_reason", _("Choose a sub-reason of the main reason."))
        return data


def initial_for(interview: ExitInterview) -> dict:
    initial: dict[str, Any] = {question.field: getattr(interview, question.field) for question in QUESTIONS}
    initial.update(
        held_on=interview.held_on,
        channel=interview.channel,
        respondent_name=interview.respondent_name,
        respondent_role=interview.respondent_role,
        primary_category=interview.primary_category_id,
        sub_reason=interview.sub_reason_id,
        avoidable=bool_choice(interview.avoidable),
        competitor=interview.competitor,
        win_back_condition=interview.win_back_condition,
        likelihood_to_return=interview.likelihood_to_return,
    )
    if interview.pk:
        initial["secondary_categories"] = [c.pk for c in interview.secondary_categories.all()]
    return initial


def default_survey_language() -> str:
    language = (get_language() or "en").lower()
    return language if language in SurveyLanguage.values else SurveyLanguage.EN


class InviteForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=_("Send to a contact"), required=False, queryset=Contact.objects.none(), empty_label="—"
    )
    email = forms.EmailField(label=_("…or type an address"), required=False)
    language = forms.ChoiceField(label=_("Survey language"), choices=SurveyLanguage.choices)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"language": default_survey_language()})
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = account.contacts.exclude(email="").filter(left_on__isnull=True)
        self.fields["contact"].label_from_instance = lambda c: f"{c.name} <{c.email}>"

    def clean(self) -> dict:
        data = super().clean()
        contact, email = data.get("contact"), data.get("email")
        if not email and contact is not None:
            data["email"] = contact.email
        if not data.get("email") and "email" not in self.errors:
            self.add_error("email", _("Choose a contact or type an email address."))
        return data


class SurveyForm(forms.Form):
    """What the customer sees: the five questions, nothing else."""

    answer_1 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5})
    )
    answer_2 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5})
    )
    answer_3 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5})
    )
    answer_4 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5})
    )
    answer_5 = forms.CharField(
        required=False, max_length=ANSWER_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for question in QUESTIONS:
            self.fields[question.field].label = question.text

    def clean(self) -> dict:
        data = super().clean()
        if not any((data.get(q.field) or "").strip() for q in QUESTIONS) and not self.errors:
            raise forms.ValidationError(_("Please answer at least one question."))
        return data


class CategoryForm(forms.ModelForm):
    wide_fields = ()

    class Meta:
        model = ReasonCategory
        fields = ["key", "name", "name_zh_hant", "name_zh_hans", "avoidable", "position", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("Keys are fixed once created: imports and reports use them.")


class SubReasonForm(forms.ModelForm):
    wide_fields = ()

    class Meta:
        model = SubReason
        fields = ["key", "name", "name_zh_hant", "name_zh_hans", "position", "is_active"]

    def __init__(self, *args: Any, category: ReasonCategory, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category = category
        if self.instance.pk:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("Keys are fixed once created: imports and reports use them.")

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not self.instance.pk and SubReason.objects.filter(category=self.category, key=key).exists():
            raise forms.ValidationError(_("This category already has a sub-reason with this key."))
        return key
