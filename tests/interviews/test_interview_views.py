"""The interview page, its autosave and the sub-reason refresh."""

import re

import pytest
from django.urls import reverse

from csworkbench.core.models import AuditEvent
from interviews import services
from interviews.models import ExitInterview, InterviewStatus
from tests.factories import AccountFactory
from tests.interviews.factories import category, sub_reason

pytestmark = pytest.mark.django_db


def page_url(account):
    return reverse("interviews:interview", args=[account.pk])


def autosave_url(account):
    return reverse("interviews:autosave", args=[account.pk])


def answers(**extra):
    data = {f"answer_{n}": "" for n in range(1, 6)}
    data.update(extra)
    return {key: str(value) for key, value in data.items()}


def test_the_page_shows_the_five_questions_first_and_creates_nothing(
    client_for, ivan_interviewer, churned_account
):
    response = client_for(ivan_interviewer).get(page_url(churned_account))

    assert response.status_code == 200
    html = response.content.decode()
    assert "What was the main reason you decided to stop using the product?" in html
    assert html.index("Under what circumstances") < html.index("Main reason")
    assert 'hx-trigger="input changed delay:800ms' in html
    assert "<optgroup" in html  # without JS every sub-reason is listed, grouped by category
    assert not ExitInterview.objects.exists()


def _revenue_shown(response) -> bool:
    html = response.content.decode()
    return "MRR" in html or "1,200" in html or "1200" in html


def test_an_interviewer_sees_no_revenue_on_the_interview_page_or_the_workspace(
    client_for, ivan_interviewer, churned_account
):
    """The user guide: interviewers see no revenue. Before and after the interview starts (its
    copy of the MRR at churn), and in the autosave and sub-reason fragments."""
    client = client_for(ivan_interviewer)
    assert not _revenue_shown(client.get(page_url(churned_account)))
    client.post(autosave_url(churned_account), answers(answer_1="Price"), headers={"HX-Request": "true"})
    assert ExitInterview.objects.get().mrr_at_churn == 1200
    assert not _revenue_shown(client.get(page_url(churned_account)))
    fragment = client.get(
        reverse("interviews:reason_options", args=[churned_account.pk]), headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and not _revenue_shown(fragment)
    assert not _revenue_shown(client.get(reverse("interviews:workspace")))


def test_a_manager_sees_the_mrr_at_churn_on_the_interview_page(
    client_for, maria_manager, ivan_interviewer, churned_account
):
    response = client_for(maria_manager).get(page_url(churned_account))
    assert "MRR at churn" in response.content.decode() and "1,200" in response.content.decode()
    services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    response = client_for(maria_manager).get(page_url(churned_account))
    assert "MRR at churn" in response.content.decode() and "1,200" in response.content.decode()


def test_the_questions_are_labelled_in_the_users_language(client_for, ivan_interviewer, churned_account):
    client = client_for(ivan_interviewer)
    client.cookies["django_language"] = "zh-hant"
    html = client.get(page_url(churned_account)).content.decode()
    assert "導致您做出這個決定的最主要原因是什麼?" in html


@pytest.mark.parametrize("user", ["alice_csm", "bob_other_csm", "ada_admin"])
def test_the_owner_and_anyone_without_the_interviewer_role_get_403(
    request, client_for, churned_account, user
):
    client = client_for(request.getfixturevalue(user))
    assert client.get(page_url(churned_account)).status_code == 403
    assert client.post(page_url(churned_account), answers(answer_1="x")).status_code == 403
    assert (
        client.post(autosave_url(churned_account), answers(answer_1="x"), HTTP_HX_REQUEST="true").status_code
        == 403
    )
    assert not ExitInterview.objects.exists()


def test_an_owner_who_is_also_an_interviewer_still_gets_403(client_for, ivan_interviewer):
    own = AccountFactory(owner=ivan_interviewer, status="churned", churned_on="2026-01-05")
    assert client_for(ivan_interviewer).get(page_url(own)).status_code == 403


def test_an_account_that_is_not_churning_has_nothing_to_interview(
    client_for, ivan_interviewer, alice_account
):
    assert client_for(ivan_interviewer).get(page_url(alice_account)).status_code == 404


def test_a_user_with_no_role_gets_404(client_for, nora_no_role, churned_account):
    assert client_for(nora_no_role).get(page_url(churned_account)).status_code == 404


def test_autosave_keeps_the_draft_and_answers_htmx_with_a_status_line(
    client_for, ivan_interviewer, churned_account
):
    client = client_for(ivan_interviewer)
    response = client.post(
        autosave_url(churned_account),
        answers(answer_1="Too expensive after the price rise"),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="autosave-status"' in html and "Draft saved at" in html
    interview = ExitInterview.objects.get(account=churned_account)
    assert interview.answer_1 == "Too expensive after the price rise"
    assert interview.interviewer == ivan_interviewer and interview.status == InterviewStatus.DRAFT

    client.post(
        autosave_url(churned_account),
        answers(answer_1="Too expensive", answer_2="We asked"),
        HTTP_HX_REQUEST="true",
    )
    interview.refresh_from_db()
    assert (interview.answer_1, interview.answer_2) == ("Too expensive", "We asked")
    assert ExitInterview.objects.count() == 1


def test_autosave_without_htmx_redirects_back_to_the_page(client_for, ivan_interviewer, churned_account):
    response = client_for(ivan_interviewer).post(autosave_url(churned_account), answers(answer_1="x"))
    assert response.status_code == 302 and response["Location"] == page_url(churned_account)


def test_autosave_rejects_an_overlong_answer_with_422(client_for, ivan_interviewer, churned_account):
    response = client_for(ivan_interviewer).post(
        autosave_url(churned_account), answers(answer_1="x" * 4001), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "Not saved" in response.content.decode()
    assert not ExitInterview.objects.exists()


def test_save_draft_button_works_without_javascript(client_for, ivan_interviewer, churned_account):
    response = client_for(ivan_interviewer).post(
        page_url(churned_account),
        answers(answer_1="Budget cut", primary_category=category("price_value").pk, action="save"),
    )
    assert response.status_code == 302
    interview = ExitInterview.objects.get(account=churned_account)
    assert interview.primary_category.key == "price_value" and interview.avoidable is True


def test_complete_shows_errors_by_the_field_with_422_and_keeps_the_draft(
    client_for, ivan_interviewer, churned_account
):
    response = client_for(ivan_interviewer).post(
        page_url(churned_account), answers(answer_2="We raised a ticket", action="complete")
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_answer_1-error"' in html
    assert 'id="id_primary_category-error"' in html
    assert 'id="id_avoidable-error"' in html
    interview = ExitInterview.objects.get(account=churned_account)
    assert interview.status == InterviewStatus.DRAFT and interview.answer_2 == "We raised a ticket"


def test_a_sub_reason_of_another_category_is_refused_on_the_server(
    client_for, ivan_interviewer, churned_account
):
    response = client_for(ivan_interviewer).post(
        page_url(churned_account),
        answers(
            answer_1="x",
            primary_category=category("product").pk,
            sub_reason=sub_reason("price_value/budget_cut").pk,
            action="save",
        ),
    )
    assert response.status_code == 422
    assert 'id="id_sub_reason-error"' in response.content.decode()


def test_complete_finishes_the_interview(client_for, ivan_interviewer, churned_account):
    response = client_for(ivan_interviewer).post(
        page_url(churned_account),
        answers(
            answer_1="The price went up",
            primary_category=category("price_value").pk,
            sub_reason=sub_reason("price_value/too_expensive").pk,
            avoidable="true",
            secondary_categories=category("service").pk,
            channel="call",
            likelihood_to_return="2",
            competitor="Zenvo",
            action="complete",
        ),
    )

    assert response.status_code == 302 and response["Location"] == reverse("interviews:workspace")
    interview = ExitInterview.objects.get(account=churned_account)
    assert interview.status == InterviewStatus.DONE
    assert interview.sub_reason.key == "too_expensive" and interview.likelihood_to_return == 2
    assert list(interview.secondary_categories.values_list("key", flat=True)) == ["service"]
    assert AuditEvent.objects.filter(action="interview.complete", actor=ivan_interviewer).exists()


def done_interview(account, interviewer):
    interview = services.start_interview(account=account, interviewer=interviewer)
    services.save_draft(
        interview=interview,
        user=interviewer,
        changes={"answer_1": "Closed the shop", "primary_category": category("unavoidable")},
    )
    return services.complete_interview(interview=interview, user=interviewer)


def test_a_completed_interview_is_read_only_for_its_interviewer(
    client_for, ivan_interviewer, churned_account
):
    done_interview(churned_account, ivan_interviewer)
    client = client_for(ivan_interviewer)

    html = client.get(page_url(churned_account)).content.decode()
    assert "Closed the shop" in html and "<textarea" not in html
    assert client.post(page_url(churned_account), answers(answer_1="rewrite")).status_code == 403
    assert (
        client.post(
            autosave_url(churned_account), answers(answer_1="rewrite"), HTTP_HX_REQUEST="true"
        ).status_code
        == 403
    )


def test_a_manager_can_correct_a_completed_interview(
    client_for, ivan_interviewer, maria_manager, churned_account
):
    done_interview(churned_account, ivan_interviewer)
    client = client_for(maria_manager)

    assert "<textarea" in client.get(page_url(churned_account)).content.decode()
    response = client.post(
        page_url(churned_account),
        answers(
            answer_1="Closed the shop in March",
            primary_category=category("unavoidable").pk,
            avoidable="false",
            action="save",
        ),
    )
    assert response.status_code == 302
    interview = ExitInterview.objects.get(account=churned_account)
    assert interview.answer_1 == "Closed the shop in March" and interview.status == InterviewStatus.DONE


def test_another_interviewer_reads_a_draft_but_cannot_write_it(client_for, ivan_interviewer, churned_account):
    from tests.factories import UserFactory

    services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    olga = UserFactory(username="olga", roles=["interviewer"])
    client = client_for(olga)
    assert "Another interviewer" in client.get(page_url(churned_account)).content.decode()
    assert client.post(page_url(churned_account), answers(answer_1="x")).status_code == 403


def test_choosing_a_category_refreshes_its_sub_reasons_and_the_avoidable_default(
    client_for, ivan_interviewer, churned_account
):
    url = reverse("interviews:reason_options", args=[churned_account.pk])
    client = client_for(ivan_interviewer)
    response = client.get(url, {"primary_category": category("unavoidable").pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="reason-detail"' in html
    assert "Closed or bankrupt" in html and "Too expensive" not in html and "<optgroup" not in html
    assert re.search(r'value="false"[^>]*checked', html)
    assert not ExitInterview.objects.exists()
    assert client.get(url).status_code == 302  # not HTMX: back to the page


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("interviews:interview", "put"),
        ("interviews:autosave", "get"),
        ("interviews:reason_options", "post"),
        ("interviews:send_survey", "get"),
    ],
)
def test_wrong_methods_get_405(client_for, ivan_interviewer, churned_account, name, method):
    client = client_for(ivan_interviewer)
    assert getattr(client, method)(reverse(name, args=[churned_account.pk])).status_code == 405


def test_the_workspace_and_form_need_a_login(client, churned_account):
    for url in (reverse("interviews:workspace"), page_url(churned_account), autosave_url(churned_account)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
