from django.db import migrations


def forwards(apps, schema_editor):
    from configuration.defaults import load_defaults

    load_defaults(apps)


class Migration(migrations.Migration):
    dependencies = [("configuration", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
