"""Small display helpers shared by every room's pages; they format, they never query. The health
badges are health's own library (`{% load health_tags %}`).

`options` and `pk_url` exist for pages that repeat the same form on every row: they do once per
page what the template language would redo on every row (render the choices of a select,
resolve a URL pattern)."""

from datetime import datetime

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def due_words(due: datetime, now: datetime):
    """“due in 2 hours” or “overdue by 1 day”, with the exact time for the title."""
    if due < now:
        text = _("overdue by %(time)s") % {"time": timesince(due, now, depth=1)}
        css = "due overdue"
    else:
        text = _("due in %(time)s") % {"time": timeuntil(due, now, depth=1)}
        css = "due"
    return format_html('<time class="{}" datetime="{}">{}</time>', css, due.isoformat(), text)


@register.simple_tag(takes_context=True)
def options(context, name: str, choices, selected=None):
    """The <option> elements of `choices` ((value, label) pairs), `selected` marked; rendered once
    per page and name, however many rows repeat the same select."""
    memo = context.render_context.setdefault("workbench_options", {})
    key = (name, "" if selected is None else str(selected))
    if key not in memo:
        chosen = key[1] if selected is not None else None
        memo[key] = format_html_join(
            "",
            "{}",
            (
                (
                    format_html('<option value="{}" selected>{}</option>', value, label)
                    if str(value) == chosen
                    else format_html('<option value="{}">{}</option>', value, label),
                )
                for value, label in choices
            ),
        )
    return memo[key]


PK_PLACEHOLDER = 2_147_483_646  # no real primary key reaches it in a URL reversed here


@register.simple_tag(takes_context=True)
def pk_url(context, name: str, pk: int) -> str:
    """`{% url name pk %}` for a URL whose only argument is an integer primary key, with the
    pattern reversed once per page rather than once per row."""
    memo = context.render_context.setdefault("workbench_pk_urls", {})
    if name not in memo:
        memo[name] = reverse(name, args=[PK_PLACEHOLDER]).split(str(PK_PLACEHOLDER))
    head, *tail = memo[name]
    if len(tail) != 1:  # the placeholder appeared twice (it cannot, but then do it the slow way)
        return reverse(name, args=[pk])
    return f"{head}{int(pk)}{tail[0]}"


@register.simple_tag(takes_context=True)
def form_token(context):
    """The hidden one-time token of a form that sends or creates (csworkbench.core.idempotency):
    a fresh one every time it is rendered, so a re-rendered form can be sent again."""
    from csworkbench.core.idempotency import FIELD, new_form_token

    return format_html(
        '<input type="hidden" name="{}" value="{}">', FIELD, new_form_token(context["request"].user)
    )
