from django.db import migrations


def ship_taxonomy(apps, schema_editor):
    from interviews.defaults import create_taxonomy

    create_taxonomy(apps.get_model("interviews", "ReasonCategory"), apps.get_model("interviews", "SubReason"))


def remove_taxonomy(apps, schema_editor):
    apps.get_model("interviews", "SubReason").objects.all().delete()
    apps.get_model("interviews", "ReasonCategory").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("interviews", "0001_initial")]

    operations = [migrations.RunPython(ship_taxonomy, remove_taxonomy)]
