"""The rules pages: list, create, edit with the firing history, switch on and off, delete, and the
dry run (of a saved rule, or of the form's unsaved data). Managers and admins only; every write
goes through `playbooks.rules`."""

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from csworkbench.core import idempotency
from csworkbench.core.roles import Role, role_required

from . import rule_words, rules
from .models import Rule, RuleFiring
from .rule_forms import RuleForm

RULE_ROLES = (Role.MANAGER, Role.ADMIN)
HISTORY_LIMIT = 50
RECENT_DAYS = 30
FORM_TEMPLATE = "playbooks/rules/rule_form.html"


def get_rule(pk: int) -> Rule:
    return get_object_or_404(Rule.objects.select_related("start_playbook", "email_template"), pk=pk)


@require_GET
@role_required(*RULE_ROLES)
def rule_list(request: HttpRequest) -> HttpResponse:
    since = timezone.localdate() - timedelta(days=RECENT_DAYS - 1)
    rule_rows = list(
        Rule.objects.select_related("start_playbook", "email_template")
        .annotate(
            last_fired=Max("firings__fired_at"),
            recent_firings=Count("firings", filter=Q(firings__fired_on__gte=since)),
        )
        .order_by("name")
    )
    for rule in rule_rows:
        rule.condition_text = rule_words.describe_condition(rule)
        rule.actions_text = rule_words.describe_actions(rule)
    return render(request, "playbooks/rules/rule_list.html", {"rules": rule_rows, "recent_days": RECENT_DAYS})


def form_context(form: RuleForm, rule: Rule | None = None, **extra: object) -> dict:
    context = {"form": form, "rule": rule, **extra}
    if rule is not None and rule.pk:
        context["description"] = rule_words.describe_rule(rule)
        context["firings"] = list(
            RuleFiring.objects.filter(rule=rule)
            .select_related("account__owner")
            .order_by("-fired_at", "-pk")[:HISTORY_LIMIT]
        )
    return context


def saved(request: HttpRequest, rule: Rule, message: str) -> HttpResponse:
    messages.success(request, message)
    url = reverse("rules:edit", args=[rule.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def invalid(request: HttpRequest, form: RuleForm, rule: Rule | None) -> HttpResponse:
    template = FORM_TEMPLATE + "#rule-form" if request.htmx else FORM_TEMPLATE
    return render(request, template, form_context(form, rule), status=422)


@require_http_methods(["GET", "POST"])
@role_required(*RULE_ROLES)
def rule_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, FORM_TEMPLATE, form_context(RuleForm()))
    form = RuleForm(request.POST)
    token = idempotency.check_form_token(request, form)
    try:
        idempotency.ensure_unused(token)  # before the form says the name is taken (by the first)
        if not form.is_valid():
            return invalid(request, form, None)
        with idempotency.claimed(request, token, purpose="rules.create") as claim:
            rule = rules.save_rule(rule=form.save(commit=False), user=request.user)
            claim.answer(reverse("rules:edit", args=[rule.pk]))
    except idempotency.AlreadySent as sent:
        url = sent.url or reverse("rules:list")
        return idempotency.already_sent(
            request, HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        )
    return saved(request, rule, _("Rule “%(rule)s” created.") % {"rule": rule.name})


@require_http_methods(["GET", "POST"])
@role_required(*RULE_ROLES)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule(pk)
    if request.method == "GET":
        return render(request, FORM_TEMPLATE, form_context(RuleForm(instance=rule), rule))
    form = RuleForm(request.POST, instance=rule)
    if not form.is_valid():
        return invalid(request, form, get_rule(pk))
    rule = rules.save_rule(rule=form.save(commit=False), user=request.user)
    return saved(request, rule, _("Rule “%(rule)s” saved.") % {"rule": rule.name})


@require_POST
@role_required(*RULE_ROLES)
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule(pk)
    # The form says which way (a double click must not switch it back); without, it flips.
    wanted = request.POST.get("enabled")
    enabled = wanted == "1" if wanted in ("0", "1") else not rule.is_enabled
    rule = rules.set_rule_enabled(rule=rule, user=request.user, enabled=enabled)
    if rule.is_enabled:
        messages.success(request, _("Rule “%(rule)s” is on.") % {"rule": rule.name})
    else:
        messages.success(request, _("Rule “%(rule)s” is off.") % {"rule": rule.name})
    target = request.POST.get("next") == "edit"
    return redirect(reverse("rules:edit", args=[rule.pk]) if target else reverse("rules:list"))


@require_POST
@role_required(*RULE_ROLES)
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule(pk)
    rules.delete_rule(rule=rule, user=request.user)
    messages.success(request, _("Rule “%(rule)s” deleted.") % {"rule": rule.name})
    url = reverse("rules:list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
@role_required(*RULE_ROLES)
def rule_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    """What the saved rule would fire for today, nothing written."""
    rule = get_rule(pk)
    result = rules.dry_run(rule, as_of=timezone.localdate())
    template = "playbooks/rules/rule_dry_run.html"
    if request.htmx:
        template += "#dry-run"
    context = {
        "rule": rule,
        "result": result,
        "description": rule_words.describe_rule(rule),
        "saved_rule": True,
    }
    return render(request, template, context)


@require_POST
@role_required(*RULE_ROLES)
def rule_dry_run_form(request: HttpRequest) -> HttpResponse:
    """The dry run of the form's unsaved data. htmx gets the result fragment; a plain POST gets
    the form page back with its data and the result. Nothing is saved either way."""
    rule = get_rule(int(request.GET["rule"])) if request.GET.get("rule", "").isdigit() else None
    form = RuleForm(request.POST, instance=rule)
    saved_rule = get_rule(rule.pk) if rule else None
    if not form.is_valid():
        # The errors belong by their fields: swap the whole form in place of the result.
        response = invalid(request, form, saved_rule)
        return reswap(retarget(response, "#rule-form"), "outerHTML") if request.htmx else response
    draft = form.save(commit=False)
    result = rules.dry_run(draft, as_of=timezone.localdate())
    context = {"result": result, "draft_description": rule_words.describe_rule(draft)}
    if request.htmx:
        return render(request, "playbooks/rules/rule_dry_run.html#dry-run", context)
    return render(request, FORM_TEMPLATE, form_context(form, saved_rule, **context))
