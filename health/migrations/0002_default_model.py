from django.db import migrations
from django.utils import timezone


def ship_defaults(apps, schema_editor):
    from health.defaults import create_default_model

    HealthModel = apps.get_model("health", "HealthModel")
    if HealthModel.objects.exists():
        return
    model = create_default_model(
        HealthModel, apps.get_model("health", "HealthDimension"), apps.get_model("health", "HealthMeasure")
    )
    HealthModel.objects.filter(pk=model.pk).update(published_at=timezone.now())


def remove_defaults(apps, schema_editor):
    apps.get_model("health", "HealthModel").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("health", "0001_initial")]

    operations = [migrations.RunPython(ship_defaults, remove_defaults)]
