"""The inbox, the deliveries log, email templates and the compose page."""

from contextlib import nullcontext
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.access import get_account_for_change
from accounts.models import Account
from csworkbench.core import idempotency
from csworkbench.core.roles import Role, role_required

from .emails import primary_contact, render_email, save_email_template, send_customer_email
from .models import Delivery, EmailTemplate, Notification, Task
from .notification_forms import (
    ComposeForm,
    DeliveryFilterForm,
    EmailTemplateForm,
    PreviewAccountForm,
    TemplatePickForm,
)
from .notifications import mark_read, retry_delivery

PAGE_SIZE = 50
PREVIEW_ACCOUNTS = 200
MANAGERS = (Role.MANAGER, Role.ADMIN)


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


# --- inbox -------------------------------------------------------------------------------------


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    mine = Notification.objects.for_user(request.user)
    ordered = (
        mine.select_related("account")
        .alias(
            is_read=Case(
                When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("is_read", "-created_at", "-id")
    )
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    return {"page": page, "unread_count": mine.unread().count()}


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    template = "playbooks/notifications/inbox.html"
    if request.htmx and not request.htmx.boosted:
        template += "#notification_list"
    return render(request, template, _inbox_context(request))


@require_POST
def read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(
        Notification.objects.for_user(request.user).select_related("account"), pk=pk
    )
    mark_read(user=request.user, notification=notification)
    if request.htmx:
        response = render(
            request, "playbooks/notifications/inbox.html#notification_row", {"notification": notification}
        )
        return trigger_client_event(response, "notifications-read")
    return redirect(_back(request, reverse("notifications:inbox")))


@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    count = mark_read(user=request.user)
    if request.htmx:
        response = render(
            request, "playbooks/notifications/inbox.html#notification_list", _inbox_context(request)
        )
        return trigger_client_event(response, "notifications-read")
    if count:
        messages.success(request, _("All notifications marked read."))
    return redirect("notifications:inbox")


# --- deliveries --------------------------------------------------------------------------------


def visible_deliveries(user: Any):
    """Managers and admins see every outgoing message (the views check the role)."""
    return Delivery.objects.select_related("webhook", "sent_email__account")


@require_GET
@role_required(*MANAGERS)
def deliveries(request: HttpRequest) -> HttpResponse:
    form = DeliveryFilterForm(request.GET)
    rows = visible_deliveries(request.user).order_by("-created_at", "-id")
    status = form.cleaned_data["status"] if form.is_valid() else ""
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "playbooks/notifications/deliveries.html"
    if request.htmx and not request.htmx.boosted:
        template += "#delivery_list"
    return render(request, template, {"form": form, "page": page, "status": status})


@require_POST
@role_required(*MANAGERS)
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(visible_deliveries(request.user), pk=pk)
    error = ""
    try:
        retry_delivery(delivery=delivery, user=request.user)
    except ValidationError as exc:
        error = _errors(exc)
    if request.htmx:
        # Without a broker the retry has already run by now: show where it ended.
        delivery = visible_deliveries(request.user).get(pk=pk)
        context = {"delivery": delivery, "row_message": error or _("Sending again.")}
        return render(
            request,
            "playbooks/notifications/deliveries.html#delivery_row",
            context,
            status=422 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The delivery is being sent again."))
    return redirect(_back(request, reverse("notifications:deliveries")))


# --- email templates ---------------------------------------------------------------------------


@require_GET
@role_required(*MANAGERS)
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "playbooks/notifications/template_list.html",
        {"templates": EmailTemplate.objects.order_by("name")},
    )


def _preview(request: HttpRequest, *, subject: str, body: str, account_id: Any = None) -> dict[str, Any]:
    """The preview part of the template page: the account chosen (by default the user's first
    own account, else the first they may see) and the text it would get."""
    accounts = Account.objects.visible_to(request.user).order_by("name")
    account = accounts.filter(pk=account_id).first() if str(account_id or "").isdigit() else None
    if account is None:
        account = accounts.filter(owner=request.user).first() or accounts.first()
    choices = list(accounts.only("pk", "name")[:PREVIEW_ACCOUNTS])
    if account is not None and account not in choices:
        choices.insert(0, account)
    picker = PreviewAccountForm(
        initial={"preview_account": account.pk if account else None}, accounts=choices
    )
    context: dict[str, Any] = {"picker": picker, "preview_account": account}
    if account is not None:
        draft = EmailTemplate(subject=subject, body=body)
        context["preview_subject"], context["preview_body"] = render_email(
            draft, account=account, contact=primary_contact(account), sender=request.user
        )
    return context


def _template_page(
    request: HttpRequest, *, form: EmailTemplateForm, template: EmailTemplate | None, status: int = 200
) -> HttpResponse:
    preview = _preview(
        request,
        subject=form["subject"].value() or "",
        body=form["body"].value() or "",
        account_id=request.POST.get("preview_account"),
    )
    page = "playbooks/notifications/template_form.html"
    if request.htmx and status == 422:
        page += "#template_form"
    return render(request, page, {"form": form, "template": template, **preview}, status=status)


def _save_template(request: HttpRequest, template: EmailTemplate | None) -> HttpResponse:
    form = EmailTemplateForm(request.POST, instance=template)
    # Saving a template twice is harmless; creating one twice is not.
    token = idempotency.check_form_token(request, form) if template is None else ""
    url = reverse("notifications:templates")
    try:
        idempotency.ensure_unused(token)  # before the form says the key is taken (by the first)
    except idempotency.AlreadySent:
        return idempotency.already_sent(
            request, HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        )
    if form.is_valid():
        try:
            guard = (
                idempotency.claimed(request, token, purpose="notifications.template")
                if token
                else nullcontext()
            )
            with guard:
                saved = save_email_template(user=request.user, template=template, **form.cleaned_data)
        except idempotency.AlreadySent:
            return idempotency.already_sent(
                request, HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Email template “%(name)s” saved.") % {"name": saved.name})
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _template_page(request, form=form, template=template, status=422)


@require_http_methods(["GET", "POST"])
@role_required(*MANAGERS)
def template_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save_template(request, None)
    return _template_page(request, form=EmailTemplateForm(), template=None)


@require_http_methods(["GET", "POST"])
@role_required(*MANAGERS)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    if request.method == "POST":
        return _save_template(request, template)
    return _template_page(request, form=EmailTemplateForm(instance=template), template=template)


@require_POST
@role_required(*MANAGERS)
def template_preview(request: HttpRequest) -> HttpResponse:
    """The template as the chosen account would get it. Reads the unsaved text; writes nothing."""
    if request.htmx:
        context = _preview(
            request,
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
            account_id=request.POST.get("preview_account"),
        )
        return render(request, "playbooks/notifications/template_form.html#template_preview", context)
    # Without JavaScript the Preview button posts the whole form here: show the page again.
    template = EmailTemplate.objects.filter(pk=request.POST.get("template_pk") or None).first()
    return _template_page(request, form=EmailTemplateForm(request.POST, instance=template), template=template)


# --- compose -----------------------------------------------------------------------------------


def _task_for(request: HttpRequest, account: Account) -> Task | None:
    pk = request.POST.get("task") or request.GET.get("task")
    if not pk or not str(pk).isdigit():
        return None
    return Task.objects.visible_to(request.user).filter(account=account, pk=pk).first()


def _compose_context(
    request: HttpRequest, account: Account, form: ComposeForm, picker: TemplatePickForm
) -> dict:
    contact = form["contact"].value()
    recipient = next((c for c in form.fields["contact"].queryset if str(c.pk) == str(contact)), None)
    return {"account": account, "form": form, "picker": picker, "recipient": recipient}


@require_http_methods(["GET", "POST"])
@role_required(Role.CSM, *MANAGERS)
def compose(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_account_for_change(request, account_pk)
    task = _task_for(request, account)
    if request.method == "POST":
        form = ComposeForm(request.POST, account=account)
        picker = TemplatePickForm(request.POST, account=account)
        token = idempotency.check_form_token(request, form)
        if form.is_valid():
            data = form.cleaned_data
            url = reverse("accounts:detail", args=[account.pk])
            try:
                with idempotency.claimed(request, token, purpose="notifications.compose"):
                    sent = send_customer_email(
                        account=account,
                        template=data["template"],
                        sent_by=request.user,
                        contact=data["contact"],
                        subject=data["subject"],
                        body=data["body"],
                        task=task,
                    )
            except idempotency.AlreadySent:
                response = HttpResponseClientRedirect(url) if request.htmx else redirect(url)
                return idempotency.already_sent(request, response)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Email to %(to)s queued.") % {"to": sent.to_address})
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        page = (
            "playbooks/notifications/compose.html#email_draft"
            if request.htmx
            else "playbooks/notifications/compose.html"
        )
        return render(request, page, _compose_context(request, account, form, picker), status=422)

    picker = TemplatePickForm(request.GET, account=account)
    picker.is_valid()
    template = picker.cleaned_data.get("template")
    contact = picker.cleaned_data.get("contact") or primary_contact(account)
    initial: dict[str, Any] = {"template": template, "contact": contact, "task": task.pk if task else None}
    if template is not None and contact is not None:
        initial["subject"], initial["body"] = render_email(
            template, account=account, contact=contact, sender=request.user
        )
    elif task is not None:
        initial["subject"] = task.title
    form = ComposeForm(initial=initial, account=account)
    picker = TemplatePickForm(initial={"template": template, "contact": contact}, account=account)
    page = "playbooks/notifications/compose.html"
    if request.htmx and not request.htmx.boosted:
        page += "#email_draft"
    return render(request, page, _compose_context(request, account, form, picker))
