"""Form controls sit where the eye expects them (issue 14, item 17): a checkbox on its label's
line, in the rule form's scope lists and its yes/no fields."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_rule_forms_checkboxes_sit_on_their_labels_line(page, maria_manager):
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/rules/new/")
    boxes = page.locator('form input[type="checkbox"]')
    assert boxes.count() >= 5
    for index in range(boxes.count()):
        offset = boxes.nth(index).evaluate(
            """box => {
                const label = box.closest('label') || document.querySelector(`label[for="${box.id}"]`);
                const range = document.createRange();
                range.selectNodeContents(label);
                const text = [...range.getClientRects()].filter(r => r.width > box.offsetWidth + 2).pop()
                    || label.getBoundingClientRect();
                const b = box.getBoundingClientRect();
                return Math.abs((b.top + b.bottom) / 2 - (text.top + text.bottom) / 2);
            }"""
        )
        assert offset <= 4, (index, offset)
