"""The reason taxonomy editor: managers only; reasons in use are switched off, not deleted."""

import re

import pytest
from django.urls import reverse

from csworkbench.core.models import AuditEvent
from interviews import services
from interviews.models import ReasonCategory, SubReason
from tests.form_tokens import with_token
from tests.interviews.factories import ChurnedAccountFactory, category, sub_reason

pytestmark = pytest.mark.django_db
LIST = reverse("interviews:reasons")


def new_category(**extra):
    data = {
        "key": "legal",
        "name": "Legal / compliance",
        "name_zh_hant": "法規",
        "name_zh_hans": "法规",
        "avoidable": "on",
        "position": "6",
        "is_active": "on",
    }
    data.update(extra)
    return data


def test_the_list_shows_every_category_with_its_sub_reasons_in_three_languages(
    client_for, maria_manager, django_assert_max_num_queries
):
    client = client_for(maria_manager)
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Price / value", "價格/價值", "价格/价值", "Too expensive", "太貴", "太贵", "price_value"):
        assert text in html


@pytest.mark.parametrize("user", ["alice_csm", "ivan_interviewer", "ada_admin", "nora_no_role"])
def test_only_managers_edit_the_taxonomy(request, client_for, user):
    client = client_for(request.getfixturevalue(user))
    product = category("product")
    assert client.get(LIST).status_code == 403
    assert client.post(reverse("interviews:category_create"), new_category()).status_code == 403
    assert client.post(reverse("interviews:category_remove", args=[product.pk])).status_code == 403
    assert not ReasonCategory.objects.filter(key="legal").exists()


def test_a_manager_adds_a_category_and_a_sub_reason(client_for, maria_manager):
    client = client_for(maria_manager)
    response = client.post(
        reverse("interviews:category_create"), with_token(maria_manager, new_category(avoidable=""))
    )
    assert response.status_code == 302
    legal = ReasonCategory.objects.get(key="legal")
    assert legal.avoidable is False and legal.name_zh_hant == "法規"

    response = client.post(
        reverse("interviews:sub_reason_create", args=[legal.pk]),
        with_token(
            maria_manager,
            key="gdpr",
            name="Data residency",
            name_zh_hant="資料駐留",
            name_zh_hans="数据驻留",
            position="1",
            is_active="on",
        ),
    )
    assert response.status_code == 302
    assert SubReason.objects.get(category=legal, key="gdpr").path == "legal/gdpr"
    assert AuditEvent.objects.filter(action="sub_reason.create", actor=maria_manager).exists()


def test_keys_are_unique_slugs(client_for, maria_manager):
    client = client_for(maria_manager)
    for key in ("product", "not a slug"):
        response = client.post(
            reverse("interviews:category_create"), with_token(maria_manager, new_category(key=key))
        )
        assert response.status_code == 422 and "key" in response.context["form"].errors
    product = category("product")
    response = client.post(
        reverse("interviews:sub_reason_create", args=[product.pk]),
        with_token(maria_manager, key="bugs", name="Bugs again", position="9", is_active="on"),
    )
    assert response.status_code == 422
    assert SubReason.objects.filter(category=product, key="bugs").count() == 1


def test_editing_keeps_the_key(client_for, maria_manager):
    product = category("product")
    response = client_for(maria_manager).post(
        reverse("interviews:category_edit", args=[product.pk]),
        new_category(key="renamed", name="Product & platform", avoidable="on", position="1"),
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.key == "product" and product.name == "Product & platform"


def test_a_category_in_use_is_switched_off_not_deleted(
    client_for, maria_manager, ivan_interviewer, churned_account
):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    services.save_draft(
        interview=interview,
        user=ivan_interviewer,
        changes={
            "primary_category": category("price_value"),
            "sub_reason": sub_reason("price_value/budget_cut"),
        },
    )
    client = client_for(maria_manager)

    client.post(reverse("interviews:category_remove", args=[category("price_value").pk]))
    price = ReasonCategory.objects.get(key="price_value")
    assert price.is_active is False
    assert not price.sub_reasons.filter(is_active=True).exists()

    unused = ReasonCategory.objects.create(key="spare", name="Spare")
    SubReason.objects.create(category=unused, key="one", name="One")
    client.post(reverse("interviews:category_remove", args=[unused.pk]))
    assert not ReasonCategory.objects.filter(key="spare").exists()


def test_a_switched_off_category_leaves_new_interviews_but_stays_on_old_ones(
    client_for, maria_manager, ivan_interviewer, churned_account
):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    services.save_draft(
        interview=interview, user=ivan_interviewer, changes={"primary_category": category("service")}
    )
    services.remove_category(user=maria_manager, category=category("service"))
    service = category("service")
    option = re.compile(rf'<option value="{service.pk}"[^>]*>Service</option>')
    client = client_for(ivan_interviewer)

    assert option.search(
        client.get(reverse("interviews:interview", args=[churned_account.pk])).content.decode()
    )
    other = ChurnedAccountFactory(owner=churned_account.owner)
    assert not option.search(client.get(reverse("interviews:interview", args=[other.pk])).content.decode())


def test_a_sub_reason_in_use_is_switched_off_and_an_unused_one_deleted(
    client_for, maria_manager, ivan_interviewer, churned_account
):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    services.save_draft(
        interview=interview,
        user=ivan_interviewer,
        changes={"primary_category": category("product"), "sub_reason": sub_reason("product/bugs")},
    )
    client = client_for(maria_manager)
    client.post(reverse("interviews:sub_reason_remove", args=[sub_reason("product/bugs").pk]))
    client.post(reverse("interviews:sub_reason_remove", args=[sub_reason("product/performance").pk]))

    assert SubReason.objects.get(key="bugs").is_active is False
    assert not SubReason.objects.filter(key="performance").exists()


def test_remove_needs_post(client_for, maria_manager):
    client = client_for(maria_manager)
    assert client.get(reverse("interviews:category_remove", args=[category("product").pk])).status_code == 405
    assert client.put(LIST).status_code == 405
