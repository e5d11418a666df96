"""DailyMetric: drop the account_id index (the unique (account, date) index covers it) and add a
partial index of the rows carrying an NPS response, for each account's latest one."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_apitoken_importjob_account_health_delta_7d_and_more"),
        ("health", "0002_default_model"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dailymetric",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="daily_metrics",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AddIndex(
            model_name="dailymetric",
            index=models.Index(
                condition=models.Q(("nps__isnull", False)),
                fields=["account", "-date"],
                name="daily_metric_nps_idx",
            ),
        ),
    ]
