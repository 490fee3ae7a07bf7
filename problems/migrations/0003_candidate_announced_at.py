# Candidates are announced to problem managers in a digest (detection.send_candidate_digest).

from django.db import migrations, models


def existing_were_told(apps, schema_editor):
    # Candidates made before the digest were notified one by one already.
    ProblemCandidate = apps.get_model("problems", "ProblemCandidate")
    ProblemCandidate.objects.filter(announced_at__isnull=True).update(announced_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("problems", "0002_candidate_review_rule"),
    ]

    operations = [
        migrations.AddField(
            model_name="problemcandidate",
            name="announced_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(existing_were_told, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="problemcandidate",
            index=models.Index(
                condition=models.Q(("announced_at__isnull", True)), fields=["id"], name="candidate_unannounced_idx"
            ),
        ),
    ]
