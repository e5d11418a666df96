"""The top bar on a phone (issue 14, item 13): under the scrolling navigation, the language
switch, the inbox and "Log out" keep to one row in every language, and the page never scrolls
sideways."""

import pytest
from django.conf import settings

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROW = """() => {
  const tools = [...document.querySelectorAll('.topbar-tools > *')].filter((el) => el.offsetParent);
  const tops = tools.map((el) => Math.round(el.getBoundingClientRect().top));
  const logout = document.querySelector('.topbar-tools .link-button').getBoundingClientRect();
  return {tops, logoutRight: logout.right, width: document.documentElement.clientWidth,
          scrollWidth: document.documentElement.scrollWidth};
}"""


@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
def test_the_phone_header_keeps_its_tools_on_one_row(browser, live_server, maria_manager, language):
    # A full name as long as people's are; the row must hold whatever the name.
    maria_manager.first_name, maria_manager.last_name = "Maria Fernanda", "Wang-Villanueva"
    maria_manager.save(update_fields=["first_name", "last_name"])
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto("/login/")
    page.locator("input[name=username]").fill("maria")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)

    state = page.evaluate(ROW)

    assert len(state["tops"]) >= 3  # the language switch, the inbox, the log-out form
    assert max(state["tops"]) - min(state["tops"]) <= 12, state  # one row
    assert state["logoutRight"] <= state["width"], state
    assert state["scrollWidth"] <= state["width"] + 1, state
    context.close()
