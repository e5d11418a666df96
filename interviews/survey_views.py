"""The customer's side of the exit interview: a public page behind a signed one-time link."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from . import services
from .forms import SurveyForm

PAGE = "interviews/survey.html"
GONE = 410


def _render(request: HttpRequest, invitation, context: dict, *, status: int = 200) -> HttpResponse:
    """Render in the invitation's language, whatever the visitor's browser prefers."""
    with translation.override(invitation.language):
        context = {"invitation": invitation, "account": invitation.interview.account, **context}
        if "form" in context and context["form"] is None:
            context["form"] = SurveyForm()
        response = render(request, PAGE, context, status=status)
    response.headers["Content-Language"] = invitation.language
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.find_invitation(token)
    if invitation is None:
        raise Http404
    try:
        services.check_answerable(invitation)
    except services.SurveyUnavailable as gone:
        return _render(request, invitation, {"state": gone.reason}, status=GONE)
    if request.method == "GET":
        return _render(request, invitation, {"state": "open", "form": None})
    with translation.override(invitation.language):
        form = SurveyForm(request.POST)
        valid = form.is_valid()
    if not valid:
        return _render(request, invitation, {"state": "open", "form": form}, status=422)
    try:
        services.answer_survey(invitation=invitation, answers=form.cleaned_data)
    except services.SurveyUnavailable as gone:
        return _render(request, invitation, {"state": gone.reason}, status=GONE)
    return _render(request, invitation, {"state": "thanks"})
