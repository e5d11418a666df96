from datetime import timedelta

import pytest
from django.utils import timezone

from tests.interviews.factories import ChurnedAccountFactory


@pytest.fixture
def churned_account(alice_csm):
    """Alice's account, churned three weeks ago: Ivan interviews it, Alice never may."""
    return ChurnedAccountFactory(
        name="Brightpath Tutoring",
        owner=alice_csm,
        value_tier="A",
        churned_on=timezone.localdate() - timedelta(days=21),
    )
