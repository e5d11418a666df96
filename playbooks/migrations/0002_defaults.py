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


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]

    # Going back needs no data step: unapplying 0001 drops the tables these rows live in.
    operations = [migrations.RunPython(ship_defaults, migrations.RunPython.noop)]
