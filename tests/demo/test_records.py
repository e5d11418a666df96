"""The demo's data files and the relative dates they are written in (csworkbench/demo/records.py)."""

from datetime import date

import pytest

from csworkbench.demo.records import relative_date
from csworkbench.demo.stories import STORIES, story_specs

TODAY = date(2026, 3, 2)


def test_a_date_counts_days_and_years_from_its_anchor_left_to_right():
    start, churn = date(2024, 1, 10), date(2026, 1, 31)
    assert relative_date("today", today=TODAY) == TODAY
    assert relative_date("today-58d", today=TODAY) == date(2026, 1, 3)
    assert relative_date("start+200d", today=TODAY, start=start) == date(2024, 7, 28)
    assert relative_date("churn-2y", today=TODAY, churn=churn) == date(2024, 1, 31)
    assert relative_date("today+75d-3y", today=TODAY) == date(2023, 5, 16)


def test_a_leap_day_moves_to_the_28th_in_other_years():
    assert relative_date("start+1y", today=TODAY, start=date(2024, 2, 29)) == date(2025, 2, 28)


@pytest.mark.parametrize("text", ["yesterday", "today-5", "start+3d", "today - 5d"])
def test_it_refuses_what_is_not_a_date_it_can_place(text):
    with pytest.raises(ValueError, match="Not a demo date"):
        relative_date(text, today=TODAY)


@pytest.mark.parametrize("days", [1, 30, 365])
def test_the_story_accounts_churn_inside_the_window_and_name_only_their_people(days):
    specs = story_specs(today=TODAY, days=days)
    assert [spec.account.external_id for spec in specs] == [story.external_id for story in STORIES]
    for spec in specs:
        people = {person.key for person in spec.contact_seeds or []}
        assert all(item.contact in people | {""} for item in spec.scripted), spec.story
        if spec.account.churned_on is not None:
            assert 1 <= (TODAY - spec.account.churned_on).days <= max(1, days - 1), spec.story
