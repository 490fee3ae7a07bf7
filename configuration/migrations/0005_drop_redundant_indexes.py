"""Drop indexes that no query needs, which every import paid for on each row it wrote (B8).

Each is either a single-column index whose column leads another index of the same table (the
composite one serves every lookup it served: foreign-key joins, cascades, prefetches), or a
``varchar_pattern_ops`` copy made for case-sensitive prefix ``LIKE``, which the code never issues
(number look-ups use ``istartswith``, i.e. ``UPPER(...) LIKE``, names ``icontains`` or the full-text
index). Django created them implicitly (``ForeignKey`` / ``db_index`` / ``unique`` on a
``CharField``), so the model state does not change; on PostgreSQL only.

| dropped | covered by |
|---|---|
| configurationitem (ci_class_id) | ci_class_status_idx (ci_class_id, status), ci_class_number_idx |
| configurationitem (number varchar_pattern_ops) | unused (the unique index serves equality) |
| configurationitem (name varchar_pattern_ops) | unused (the name index serves equality and order) |
| relationship (source_id) | unique_relationship (source_id, target_id, type_id) |
| relationship (target_id) | relationship_target_idx (target_id, type_id) |
| ciidentifier (ci_id) | one_identifier_per_scheme_per_ci (ci_id, scheme) |
| ciidentifier (scheme), (scheme varchar_pattern_ops) | unique_ci_identifier (scheme, value) |
"""

from django.db import migrations

# (index name, table, definition for the reverse migration)
DROPPED = [
    (
        "configuration_configurationitem_ci_class_id_0c61414a",
        "configuration_configurationitem",
        "(ci_class_id)",
    ),
    (
        "configuration_configurationitem_number_1ac26024_like",
        "configuration_configurationitem",
        "(number varchar_pattern_ops)",
    ),
    (
        "configuration_configurationitem_name_c92f84c4_like",
        "configuration_configurationitem",
        "(name varchar_pattern_ops)",
    ),
    ("configuration_relationship_source_id_1db30567", "configuration_relationship", "(source_id)"),
    ("configuration_relationship_target_id_55efc934", "configuration_relationship", "(target_id)"),
    ("configuration_ciidentifier_ci_id_dfb3c001", "configuration_ciidentifier", "(ci_id)"),
    ("configuration_ciidentifier_scheme_c9fa618e", "configuration_ciidentifier", "(scheme)"),
    (
        "configuration_ciidentifier_scheme_c9fa618e_like",
        "configuration_ciidentifier",
        "(scheme varchar_pattern_ops)",
    ),
]


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _definition in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, definition in DROPPED:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"ON {schema_editor.quote_name(table)} USING btree {definition}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("configuration", "0004_ci_class_number_index"),
    ]

    operations = [migrations.RunPython(drop, restore)]
