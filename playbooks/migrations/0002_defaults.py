from django.db import migrations


def ship_defaults(apps, schema_editor):
    from playbooks.defaults import create_defaults

    create_defaults(
        apps.get_model("playbooks", "EmailTemplate"),
        apps.get_model("playbooks", "Playbook"),
        apps.get_model("playbooks", "PlaybookStep"),
        apps.get_model("playbooks", "MatrixRow"),
        apps.get_model("playbooks", "Rule"),
    )


def remove_defaults(apps, schema_editor):
    from playbooks.defaults import EMAIL_TEMPLATES, PLAYBOOKS

    apps.get_model("playbooks", "Rule").objects.filter(
        name__in=["Score below 60 for a week", "Tier A below 70 for 3 days"]
    ).delete()
    apps.get_model("playbooks", "MatrixRow").objects.all().delete()
    apps.get_model("playbooks", "Playbook").objects.filter(name__in=[p[1] for p in PLAYBOOKS]).delete()
    apps.get_model("playbooks", "EmailTemplate").objects.filter(key__in=[t[0] for t in EMAIL_TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]

    operations = [migrations.RunPython(ship_defaults, remove_defaults)]
