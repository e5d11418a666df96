"""The audit log in words (csworkbench.core.audit): action names and old → new, per language."""

import pytest
from django.utils import translation

from csworkbench.core.audit import ACTION_LABELS, action_label, changes_between, describe
from playbooks.models import MatrixRow

pytestmark = pytest.mark.django_db


def test_every_recorded_action_code_has_a_name():
    """A new action code needs its name in ACTION_LABELS, or the log shows a raw code."""
    import re
    from pathlib import Path

    from django.conf import settings

    codes = set()
    for path in Path(settings.BASE_DIR).glob("*/*.py"):
        if ".venv" in path.parts or path.parts[-2] == "tests":
            continue
        text = path.read_text()
        for first, second in re.findall(r'action="([a-z_.]+)"(?: if \w+ else "([a-z_.]+)")?', text):
            codes |= {first, second} - {""}
    codes |= {
        f"plan.{status}"
        for status in ("submitted", "approved", "changes_requested", "rejected", "active", "closed")
    }
    missing = sorted(code for code in codes if code not in ACTION_LABELS)
    assert not missing, missing


def test_a_change_reads_field_old_and_new_with_choices_by_their_label():
    row = MatrixRow.objects.get(risk_level="high")
    before = MatrixRow.objects.get(pk=row.pk)
    row.response_amount = 16
    row.response_unit = "business_days" if row.response_unit != "business_days" else "hours"
    details = changes_between(before, row)
    assert details["model"] == "playbooks.matrixrow"
    lines = describe(details)
    assert "Respond within: 4 → 16" in lines
    unit = str(MatrixRow._meta.get_field("response_unit").verbose_name).capitalize()
    unit_line = next(line for line in lines if line.startswith(unit))
    assert "_" not in unit_line  # a choice shows its label, not its code


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_names_follow_the_readers_language(language):
    with translation.override(language):
        assert action_label("rule.change") == str(translation.gettext("Rule changed"))
        lines = describe({"enabled": True, "changed": ["owner"]})
        assert lines[0].endswith(str(translation.gettext("yes")))


def test_older_details_still_read_as_words():
    assert describe({"enabled": True, "changed": ["owner", "response_amount"]}) == [
        "Switched on: yes",
        "Changed: owner, response_amount",
    ]
    assert action_label("something.new") == "something.new"
