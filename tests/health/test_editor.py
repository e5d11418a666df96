"""The health-model editor's services: drafts, validation, preview, publish, discard."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from health import editor
from health.defaults import create_default_model
from health.models import HealthDimension, HealthMeasure, HealthModel, HealthSnapshot
from health.recompute import recompute_health
from tests.conftest import needs
from tests.factories import AccountFactory, TouchpointFactory, UserFactory
from tests.health.editor_factories import DailyMetricFactory

TODAY = timezone.localdate()


@pytest.fixture
def published(db):
    """Version 1, DESIGN.md's defaults, as the data migration ships it."""
    model = HealthModel.objects.filter(status="published").first()
    return model or create_default_model(HealthModel, HealthDimension, HealthMeasure)


@pytest.fixture
def draft(published, maria_manager):
    return editor.create_draft(user=maria_manager)


@pytest.fixture
def enqueued(monkeypatch):
    """Records the recompute that publishing enqueues instead of running it."""
    calls = []
    # Publishing sends the task's signature (through the outbox): its apply_async, not delay.
    monkeypatch.setattr(
        editor.nightly_health_run,
        "apply_async",
        lambda args=None, kwargs=None, **options: calls.append(tuple(args or ())),
    )
    return calls


def bands_of(model, key):
    return HealthMeasure.objects.get(dimension__model=model, key=key).bands


def layout(model):
    return [
        (
            d.key,
            d.weight,
            d.position,
            [(m.key, m.weight, m.bands, m.interpolation, m.position) for m in d.measures.all()],
        )
        for d in model.dimensions.prefetch_related("measures")
    ]


def relationship_account(name, *, overdue, **metrics):
    """An account with only relationship data: touch recency scores 100 (touched 5 days ago,
    cadence 14) and the invoice `overdue` days; nothing else is reported."""
    account = AccountFactory(name=name, value_tier="B", contract_start=TODAY - timedelta(days=5))
    TouchpointFactory(account=account, occurred_at=timezone.now() - timedelta(days=5))
    DailyMetricFactory(account=account, date=TODAY, invoice_days_overdue=overdue, **metrics)
    return account


# Creating a draft


def test_a_draft_copies_the_published_model_with_the_next_version(published, maria_manager):
    published.stale_after_days = 9
    published.save()
    draft = editor.create_draft(user=maria_manager)
    assert draft.status == "draft"
    assert draft.version == published.version + 1
    assert draft.created_by == maria_manager
    assert draft.stale_after_days == 9
    assert draft.pk != published.pk
    assert layout(draft) == layout(published)
    assert HealthDimension.objects.filter(model=published).count() == 4  # the original is untouched
    event = AuditEvent.objects.get(action="health_model.draft_created")
    assert event.actor == maria_manager
    assert event.details == {"version": draft.version, "based_on": published.version}


def test_a_draft_can_start_from_an_older_version(published, maria_manager):
    old = create_default_model(HealthModel, HealthDimension, HealthMeasure, version=7, status="retired")
    HealthDimension.objects.filter(model=old, key="usage").update(weight=55)
    draft = editor.create_draft(user=maria_manager, based_on=old)
    assert draft.version == 8
    assert draft.dimensions.get(key="usage").weight == 55
    assert AuditEvent.objects.get(action="health_model.draft_created").details["based_on"] == 7


def test_there_is_only_one_draft_at_a_time(draft, ada_admin):
    again = editor.create_draft(user=ada_admin)
    assert again.pk == draft.pk
    assert HealthModel.objects.filter(status="draft").count() == 1
    assert AuditEvent.objects.filter(action="health_model.draft_created").count() == 1


@pytest.mark.parametrize("user_fixture", ["alice_csm", "ivan_interviewer", "nora_no_role"])
def test_only_managers_and_admins_may_touch_the_model(request, published, draft, user_fixture):
    user = request.getfixturevalue(user_fixture)
    with pytest.raises(PermissionDenied):
        editor.create_draft(user=user)
    with pytest.raises(PermissionDenied):
        editor.update_draft(model=draft, user=user, dimension_weights={"usage": 10})
    with pytest.raises(PermissionDenied):
        editor.publish_draft(model=draft, user=user)
    with pytest.raises(PermissionDenied):
        editor.discard_draft(model=draft, user=user)
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert draft.dimensions.get(key="usage").weight == 40


# Editing a draft


def test_it_saves_weights_bands_interpolation_and_parameters_with_an_audit_row(draft, maria_manager):
    editor.update_draft(
        model=draft,
        user=maria_manager,
        dimension_weights={"usage": 50, "support": 10},
        measures={
            "csat": {"weight": "2.5", "bands": [[1, 0], [3, 40], [5, 100]], "interpolation": "step"},
            "login_trend": {"weight": 0},
        },
        note="  Usage matters more  ",
        stale_after_days=10,
        cadence_a_days=5,
    )
    draft.refresh_from_db()
    assert draft.note == "Usage matters more"
    assert (draft.stale_after_days, draft.cadence_a_days, draft.no_login_days) == (10, 5, 30)
    weights = dict(draft.dimensions.values_list("key", "weight"))
    assert weights == {"usage": 50, "support": 10, "relationship": 25, "engagement": 15}
    csat = HealthMeasure.objects.get(dimension__model=draft, key="csat")
    assert (csat.weight, csat.bands, csat.interpolation) == (
        Decimal("2.50"),
        [[1, 0], [3, 40], [5, 100]],
        "step",
    )
    assert HealthMeasure.objects.get(dimension__model=draft, key="login_trend").weight == 0
    event = AuditEvent.objects.get(action="health_model.draft_updated")
    assert event.actor == maria_manager
    assert event.target == f"v{draft.version}"
    changes = event.details["changes"]
    assert changes["dimension_usage"] == [40, 50]
    assert changes["csat_bands"] == [[[2, 0], [3, 50], [4, 80], [5, 100]], [[1, 0], [3, 40], [5, 100]]]
    assert changes["csat_weight"] == ["1.00", "2.50"]
    assert changes["stale_after_days"] == [7, 10]
    assert "relationship" not in str(changes)


def test_saving_without_changes_writes_no_audit_row(draft, maria_manager):
    editor.update_draft(model=draft, user=maria_manager, dimension_weights={"usage": 40}, note="")
    assert not AuditEvent.objects.filter(action="health_model.draft_updated").exists()


def test_it_reports_every_problem_by_field_and_saves_nothing(draft, maria_manager, published):
    before = layout(draft)
    with pytest.raises(ValidationError) as caught:
        editor.update_draft(
            model=draft,
            user=maria_manager,
            dimension_weights={"usage": -1, "support": 2.5, "relationship": 30},
            measures={
                "login_trend": {"bands": [[0.5, 50]]},
                "csat": {"bands": [[3, 50], [2, 0]]},
                "latest_nps": {"bands": [[0, 20], [9, 120]]},
                "seat_utilisation": {"weight": -1},
                "training": {"weight": "lots"},
                "release_notes": {"interpolation": "cubic"},
                "invoice_overdue": {"bands": [[0, 100], ["soon", 50]]},
            },
            note="x" * 301,
            stale_after_days=0,
            cadence_b_days="two weeks",
        )
    errors = caught.value.message_dict
    assert errors["dimension_usage"] == ["Enter a whole number from 0 to 1000."]
    assert errors["dimension_support"] == ["Enter a whole number."]
    assert errors["login_trend_bands"] == ["Give at least two points."]
    assert errors["csat_bands"] == ["Raw values must increase from each point to the next."]
    assert errors["latest_nps_bands"] == ["Sub-scores must be between 0 and 100."]
    assert errors["invoice_overdue_bands"] == ["Each point needs a raw value and a sub-score."]
    assert errors["seat_utilisation_weight"] == ["A share must be between 0 and 999.99."]
    assert errors["training_weight"] == ["Enter a number."]
    assert errors["release_notes_interpolation"] == ["Choose linear or steps."]
    assert errors["note"] == ["Keep the note under 300 characters."]
    assert errors["stale_after_days"] == ["Enter a whole number from 1 to 365."]
    assert errors["cadence_b_days"] == ["Enter a whole number."]
    assert "dimension_relationship" not in errors
    draft.refresh_from_db()
    assert layout(draft) == before
    assert (draft.note, draft.stale_after_days) == ("", 7)
    assert not AuditEvent.objects.filter(action="health_model.draft_updated").exists()


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([], "Give at least two points."),
        ([[1, 50], [1, 60]], "Raw values must increase from each point to the next."),
        ([[0, -5], [1, 50]], "Sub-scores must be between 0 and 100."),
        ([[0, 0], [float("nan"), 50]], "Each point needs a raw value and a sub-score."),
        ([[0, 0, 0], [1, 50]], "Each point needs a raw value and a sub-score."),
        ([[i, 50] for i in range(13)], "Give at most 12 points."),
        ("0:0,1:100", "Give the points as pairs of a raw value and a sub-score."),
    ],
)
def test_bands_need_two_increasing_points_with_sub_scores_in_range(bands, message):
    with pytest.raises(ValidationError) as caught:
        editor.clean_bands(bands)
    assert message in caught.value.messages


def test_good_bands_are_kept_as_plain_numbers():
    assert editor.clean_bands([["0.2", "0"], [0.5, 50.0], [1, 100]]) == [[0.2, 0], [0.5, 50], [1, 100]]


def test_dimension_weights_may_not_all_be_zero(draft, maria_manager):
    zero = dict.fromkeys(["usage", "support", "relationship", "engagement"], 0)
    with pytest.raises(ValidationError) as caught:
        editor.update_draft(model=draft, user=maria_manager, dimension_weights=zero)
    assert caught.value.message_dict == {
        "dimension_weights": ["At least one dimension needs a weight above zero."]
    }


def test_a_weighted_dimension_needs_a_measure_with_a_share(draft, maria_manager):
    keys = ["email_open_rate", "training", "release_notes"]
    with pytest.raises(ValidationError) as caught:
        editor.update_draft(model=draft, user=maria_manager, measures={key: {"weight": 0} for key in keys})
    assert list(caught.value.message_dict) == ["dimension_engagement"]
    # With no weight on the dimension, its measures may all be switched off.
    editor.update_draft(
        model=draft,
        user=maria_manager,
        dimension_weights={"engagement": 0},
        measures={key: {"weight": 0} for key in keys},
    )
    assert draft.dimensions.get(key="engagement").weight == 0


def test_unknown_dimensions_and_measures_are_refused(draft, maria_manager):
    with pytest.raises(ValidationError) as caught:
        editor.update_draft(
            model=draft, user=maria_manager, dimension_weights={"vibes": 10}, measures={"mood": {"weight": 1}}
        )
    assert set(caught.value.message_dict) == {"dimension_weights", "measures"}


def test_only_drafts_are_editable(published, maria_manager):
    retired = create_default_model(HealthModel, HealthDimension, HealthMeasure, version=9, status="retired")
    for model in (published, retired):
        with pytest.raises(ValidationError) as caught:
            editor.update_draft(model=model, user=maria_manager, dimension_weights={"usage": 10})
        assert caught.value.code == "not_draft"
        with pytest.raises(ValidationError):
            editor.discard_draft(model=model, user=maria_manager)
        with pytest.raises(ValidationError):
            editor.publish_draft(model=model, user=maria_manager)
        assert model.dimensions.get(key="usage").weight == 40
    assert not AuditEvent.objects.exists()


# Preview


@pytest.fixture
def relationship_accounts(published):
    """Under the published model (invoice 0 -> 100, 15 -> 50, 30 -> 0) each score is the mean of
    touch recency (100) and the invoice sub-score."""
    return {
        "anna": relationship_account("Anna Foods", overdue=15),  # (100 + 50) / 2 = 75, Low
        "cora": relationship_account("Cora Tools", overdue=25),  # (100 + 16.67) / 2 = 58, Medium
        "dora": relationship_account("Dora Bank", overdue=0),  # 100, Healthy
        "emil": relationship_account("Emil Print", overdue=40),  # (100 + 0) / 2 = 50, Medium
    }


def test_the_preview_counts_tiers_and_lists_who_would_move_largest_change_first(
    draft, maria_manager, relationship_accounts
):
    # 15 days overdue now scores 70: Anna (100 + 70) / 2 = 85 Healthy; Cora 25 days overdue
    # scores 70 - 10/15 * 70 = 23.33, so (100 + 23.33) / 2 = 62 Low; Dora and Emil stay put.
    editor.update_draft(
        model=draft,
        user=maria_manager,
        measures={"invoice_overdue": {"bands": [[0, 100], [15, 70], [30, 0]]}},
    )
    preview = editor.preview_draft(model=draft, as_of=TODAY)
    assert preview.scored == 4
    counts = {row.tier: (row.before, row.after) for row in preview.tiers}
    assert counts == {"healthy": (1, 2), "low": (1, 1), "medium": (2, 1), "high": (0, 0), "": (0, 0)}
    assert preview.changed_count == 2
    anna, cora = preview.changed
    accounts = relationship_accounts
    assert (anna.account_id, anna.name, anna.old_score, anna.old_tier, anna.new_score, anna.new_tier) == (
        accounts["anna"].pk,
        "Anna Foods",
        75,
        "low",
        85,
        "healthy",
    )
    assert (cora.account_id, cora.old_score, cora.old_tier, cora.new_score, cora.new_tier) == (
        accounts["cora"].pk,
        58,
        "medium",
        62,
        "low",
    )
    assert (anna.delta, cora.delta) == (10, 4)
    assert (str(anna.old_tier_label), str(anna.new_tier_label)) == ("Low risk", "Healthy")


def test_a_measure_share_moves_an_account_across_a_tier_boundary(draft, maria_manager, relationship_accounts):
    # Touch recency three times the invoice's share: Anna (3 * 100 + 50) / 4 = 87.5 -> 88.
    editor.update_draft(model=draft, user=maria_manager, measures={"touch_recency": {"weight": 3}})
    preview = editor.preview_draft(model=draft, as_of=TODAY)
    moved = {(c.name, c.old_score, c.new_score, c.new_tier) for c in preview.changed}
    assert ("Anna Foods", 75, 88, "healthy") in moved


def test_a_dimension_weight_moves_an_account_off_the_healthy_boundary(draft, maria_manager, published):
    # Relationship 25 over four measures, two present (touch 100, invoice 100): 12.5; engagement
    # 15 over three, release notes present (0 views -> 30): 5 * 0.3 = 1.5. Score 14 / 0.175 = 80.
    account = relationship_account("Edge Ltd", overdue=0, release_notes_views=0)
    editor.update_draft(model=draft, user=maria_manager, dimension_weights={"engagement": 30})
    # Engagement 30 of 115: (25/115/4 * 2 * 100 + 30/115/3 * 30) / (25/115/2 + 30/115/3) = 68.9.
    preview = editor.preview_draft(model=draft, as_of=TODAY)
    (change,) = preview.changed
    assert (change.account_id, change.old_score, change.old_tier) == (account.pk, 80, "healthy")
    assert (change.new_score, change.new_tier) == (69, "low")


def test_the_preview_writes_nothing(draft, relationship_accounts):
    audit_rows = AuditEvent.objects.count()
    editor.preview_draft(model=draft, as_of=TODAY)
    assert not HealthSnapshot.objects.exists()
    assert AuditEvent.objects.count() == audit_rows


def test_an_unchanged_draft_moves_nobody(draft, relationship_accounts):
    preview = editor.preview_draft(model=draft, as_of=TODAY)
    assert preview.changed == []
    assert all(row.before == row.after for row in preview.tiers)


def test_a_draft_that_weighs_every_measure_with_data_at_zero_still_scores(draft, maria_manager, published):
    from health.recompute import compute_scores

    account = AccountFactory(contract_start=TODAY - timedelta(days=5))  # only touch recency has data
    TouchpointFactory(account=account, occurred_at=timezone.now() - timedelta(days=5))
    editor.update_draft(model=draft, user=maria_manager, measures={"touch_recency": {"weight": 0}})
    preview = editor.preview_draft(model=draft, as_of=TODAY)
    assert preview.scored == 1
    result = compute_scores(as_of=TODAY, model=draft)[account.pk]
    assert (result.score, result.tier, result.confidence) == (None, "", 0.0)


# Publishing and discarding


def test_publishing_retires_the_old_version_and_enqueues_todays_recompute(
    draft, published, maria_manager, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = editor.publish_draft(model=draft, user=maria_manager)
    assert result.pk == draft.pk
    draft.refresh_from_db()
    published.refresh_from_db()
    assert draft.status == "published"
    assert draft.published_by == maria_manager
    assert draft.published_at is not None
    assert published.status == "retired"
    assert len(callbacks) == 1
    assert enqueued == [()]
    event = AuditEvent.objects.get(action="health_model.published")
    assert event.actor == maria_manager
    assert event.details["version"] == draft.version
    assert event.details["retired"] == [published.version]


def test_publishing_a_stale_draft_fails_cleanly(draft, published, maria_manager, ada_admin, enqueued):
    stale = HealthModel.objects.get(pk=draft.pk)  # the second manager's copy, loaded before
    editor.publish_draft(model=draft, user=maria_manager)
    with pytest.raises(ValidationError) as caught:
        editor.publish_draft(model=stale, user=ada_admin)
    assert caught.value.code == "not_draft"
    assert list(HealthModel.objects.filter(status="published").values_list("pk", flat=True)) == [draft.pk]
    draft.refresh_from_db()
    assert draft.published_by == maria_manager
    assert AuditEvent.objects.filter(action="health_model.published").count() == 1


def test_a_discarded_draft_cannot_be_published(draft, published, maria_manager, enqueued):
    editor.discard_draft(model=draft, user=maria_manager)
    with pytest.raises(ValidationError):
        editor.publish_draft(model=draft, user=maria_manager)
    published.refresh_from_db()
    assert published.status == "published"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_publishes_have_exactly_one_winner(enqueued):
    needs(connection.vendor == "postgresql", "row locks need PostgreSQL")
    if not HealthModel.objects.filter(status="published").exists():  # an earlier flush removed it
        create_default_model(HealthModel, HealthDimension, HealthMeasure)
    managers = [UserFactory(username=f"manager{i}", roles=["manager"]) for i in range(2)]
    draft = editor.create_draft(user=managers[0])
    barrier = threading.Barrier(2)
    outcomes = []

    def publish(user):
        try:
            barrier.wait(timeout=10)
            editor.publish_draft(model=HealthModel.objects.get(pk=draft.pk), user=user)
            outcomes.append("published")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(user,)) for user in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["published", "refused"]
    assert HealthModel.objects.filter(status="published").count() == 1
    assert HealthModel.objects.get(pk=draft.pk).status == "published"
    assert AuditEvent.objects.filter(action="health_model.published").count() == 1


def test_discarding_deletes_the_draft_and_leaves_the_published_version(draft, published, maria_manager):
    version = draft.version
    editor.discard_draft(model=draft, user=maria_manager)
    assert not HealthModel.objects.filter(version=version).exists()
    assert not HealthDimension.objects.filter(model_id=draft.pk).exists()
    published.refresh_from_db()
    assert published.status == "published"
    event = AuditEvent.objects.get(action="health_model.draft_discarded")
    assert (event.actor, event.target) == (maria_manager, f"v{version}")
    # The next draft takes the next free number again.
    assert editor.create_draft(user=maria_manager).version == version


def test_every_snapshot_keeps_the_version_that_scored_it(draft, published, maria_manager, enqueued):
    account = relationship_account("Anna Foods", overdue=15)
    recompute_health(as_of=TODAY - timedelta(days=1))
    editor.update_draft(
        model=draft,
        user=maria_manager,
        measures={"invoice_overdue": {"bands": [[0, 100], [15, 70], [30, 0]]}},
    )
    editor.publish_draft(model=draft, user=maria_manager)
    recompute_health(as_of=TODAY)
    yesterday = HealthSnapshot.objects.get(account=account, date=TODAY - timedelta(days=1))
    today = HealthSnapshot.objects.get(account=account, date=TODAY)
    assert yesterday.model_id == published.pk
    assert today.model_id == draft.pk
    assert today.score == 85
