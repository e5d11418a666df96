"""The row helpers of the `workbench` tag library: the same HTML as the slow way, done once a page."""

from django.template import Context, Template
from django.urls import reverse


def render(source: str, **context) -> str:
    return Template("{% load workbench %}" + source).render(Context(context))


def test_options_render_every_choice_escaped_and_mark_the_selected_one():
    choices = [(1, "Ada"), (2, "<b>Bob</b>"), (3, "Cy & Co")]
    html = render('{% options "people" choices 2 %}', choices=choices)
    assert html == (
        '<option value="1">Ada</option>'
        '<option value="2" selected>&lt;b&gt;Bob&lt;/b&gt;</option>'
        '<option value="3">Cy &amp; Co</option>'
    )


def test_options_without_a_selection_select_nothing_and_each_row_gets_its_own_selection():
    choices = [(1, "Ada"), (2, "Bob")]
    html = render(
        '{% for pick in picks %}[{% options "people" choices pick %}]{% endfor %}',
        choices=choices,
        picks=[None, 1, 2, 1],
    )
    rows = html.strip("[]").split("][")
    assert rows[0] == '<option value="1">Ada</option><option value="2">Bob</option>'
    assert rows[1] == rows[3] == '<option value="1" selected>Ada</option><option value="2">Bob</option>'
    assert rows[2] == '<option value="1">Ada</option><option value="2" selected>Bob</option>'


def test_pk_url_is_the_reversed_url_of_each_row():
    html = render(
        "{% for pk in pks %}{% pk_url 'accounts:detail' pk %} {% endfor %}",
        pks=[1, 42, 1234567],
    )
    assert html.split() == [reverse("accounts:detail", args=[pk]) for pk in (1, 42, 1234567)]


def test_pk_url_as_a_variable():
    html = render("{% pk_url 'playbooks:task_done' 7 as done %}<{{ done }}>")
    assert html == f"<{reverse('playbooks:task_done', args=[7])}>"
