from django.db import migrations


def forwards(apps, schema_editor):
    # "connected to" spread impact both ways, so one server failing reached everything on its network.
    # The dependent end is the source; only installs still on the old default are changed.
    RelationshipType = apps.get_model("configuration", "RelationshipType")
    RelationshipType.objects.filter(slug="connected-to", impact_direction="both").update(
        impact_direction="target_to_source"
    )


class Migration(migrations.Migration):
    dependencies = [("configuration", "0002_default_classes")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
