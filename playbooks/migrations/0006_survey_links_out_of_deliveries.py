"""Survey emails queued or failed before links were minted at send time still hold a live
one-time link in their body, readable on the deliveries page and in the admin. Put the
placeholder there instead and name the invitation, so the send mints a fresh link (and the
stored one dies with it)."""

import hashlib
import re

from django.core import signing
from django.db import migrations

# Copied, not imported: a migration must not change when the app's code does.
PLACEHOLDER = "[survey link]"
SURVEY_SALT = "interviews.survey"
LINK = re.compile(r"\S*/survey/(?P<signed>[^/\s]+)/?")


def _invitation_id(invitations, body: str):
    match = LINK.search(body)
    if match is None:
        return None
    try:
        token = signing.TimestampSigner(salt=SURVEY_SALT).unsign(match.group("signed"))
    except signing.BadSignature:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return invitations.filter(token_hash=digest).values_list("pk", flat=True).first()


def scrub_survey_links(apps, schema_editor):
    Delivery = apps.get_model("playbooks", "Delivery")
    SurveyInvitation = apps.get_model("interviews", "SurveyInvitation")
    # Sent ones already had their body replaced when they went out.
    for delivery in Delivery.objects.filter(payload__secret_body=True).exclude(status="sent"):
        payload = {key: value for key, value in delivery.payload.items() if key != "secret_body"}
        invitation_id = _invitation_id(SurveyInvitation.objects, delivery.body)
        if invitation_id is not None:
            payload["survey_invitation"] = invitation_id
        delivery.body = LINK.sub(PLACEHOLDER, delivery.body)
        delivery.payload = payload
        delivery.save(update_fields=["body", "payload"])


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0005_team_working_day_defaults_callable"),
        ("interviews", "0004_action_items"),
    ]

    operations = [migrations.RunPython(scrub_survey_links, migrations.RunPython.noop)]
