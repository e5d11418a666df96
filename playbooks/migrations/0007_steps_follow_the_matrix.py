"""A playbook step's due time may be empty: it then follows the intervention matrix's "respond
within" for its playbook's risk level, so editing the matrix moves the due time of new tasks.

Steps (and rule tasks) due exactly when their level's row says become empty, so the shipped
playbooks and the first example rule follow the matrix; every other number stays as an override.
"""

from django.db import migrations, models

# Copied, not imported: a migration must not change when the app's code does.
HOURS_PER_WORKING_DAY = 9


def _in_hours(amount, unit):
    return amount * HOURS_PER_WORKING_DAY if unit == "business_days" else amount


def follow_the_matrix(apps, schema_editor):
    MatrixRow = apps.get_model("playbooks", "MatrixRow")
    PlaybookStep = apps.get_model("playbooks", "PlaybookStep")
    Rule = apps.get_model("playbooks", "Rule")
    for row in MatrixRow.objects.all():
        if row.response_unit != "hours":  # clock hours are not working hours: leave those alone
            PlaybookStep.objects.filter(
                playbook__risk_level=row.risk_level,
                due_offset_hours=_in_hours(row.response_amount, row.response_unit),
            ).update(due_offset_hours=None)
        Rule.objects.filter(
            set_risk_level=row.risk_level,
            task_due_amount=row.response_amount,
            task_due_unit=row.response_unit,
        ).exclude(task_title="").update(task_due_amount=None)


def numbers_back(apps, schema_editor):
    MatrixRow = apps.get_model("playbooks", "MatrixRow")
    PlaybookStep = apps.get_model("playbooks", "PlaybookStep")
    Rule = apps.get_model("playbooks", "Rule")
    for row in MatrixRow.objects.all():
        PlaybookStep.objects.filter(playbook__risk_level=row.risk_level, due_offset_hours__isnull=True).update(
            due_offset_hours=_in_hours(row.response_amount, row.response_unit)
        )
        Rule.objects.filter(set_risk_level=row.risk_level, task_due_amount__isnull=True).exclude(
            task_title=""
        ).update(task_due_amount=row.response_amount, task_due_unit=row.response_unit)
    PlaybookStep.objects.filter(due_offset_hours__isnull=True).update(due_offset_hours=24)


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0006_survey_links_out_of_deliveries")]

    operations = [
        migrations.AlterField(
            model_name="playbookstep",
            name="due_offset_hours",
            field=models.PositiveIntegerField(
                blank=True,
                help_text=(
                    "Leave empty to follow the intervention matrix's “respond within” for the playbook's "
                    "risk level. A number overrides it, counted in the team's working hours from the start."
                ),
                null=True,
                verbose_name="due after (business hours)",
            ),
        ),
        migrations.RunPython(follow_the_matrix, numbers_back),
    ]
