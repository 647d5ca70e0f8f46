from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

# Undoing the new column on SQLite remakes the activity table without its indexes;
# the first operation, undone last, puts them back (a no-op on PostgreSQL).
ACTIVITY_INDEXES = [
    'CREATE INDEX IF NOT EXISTS "idx_activity_state_87053d" ON "activity" ("state")',
    'CREATE INDEX IF NOT EXISTS "idx_activity_starts__bf1329" ON "activity" ("starts_at")',
    'CREATE INDEX IF NOT EXISTS "idx_activity_client__d14055" ON "activity" ("client_id", "starts_at")',
    'CREATE INDEX IF NOT EXISTS "idx_activity_deal_id_b7cf55" ON "activity" ("deal_id", "state")',
]


class Migration(migrations.Migration):
    dependencies = [('kontakt', '0012_sales')]

    initial = False

    operations = [
        ops.RunSQL(sql=ops.RunSQL.noop, reverse_sql=ACTIVITY_INDEXES),
        ops.AddField(
            model_name='Activity',
            name='order',
            field=fields.ForeignKeyField('kontakt.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL),
        ),
    ]
