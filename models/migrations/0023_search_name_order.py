from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0022_marketing')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='ClientSearchToken',
            name=None,
            fields=['token', 'client_id'],
        ),
        ops.AlterModelOptions(
            name='ClientSearchToken',
            options={'table': 'client_search_token', 'app': 'kontakt', 'indexes': [Index(fields=['token', 'client_name', 'client_id']), Index(fields=['client_id'])], 'pk_attr': 'id', 'table_description': 'A word a client is found by (folded, at most 64 characters), and the client name'},
        ),
        ops.AddField(
            model_name='ClientSearchToken',
            name='client_name',
            field=fields.CharField(default='', max_length=300),
        ),
        # the tokens written before: each takes its client's name (SQLite and PostgreSQL)
        ops.RunSQL(sql="UPDATE client_search_token SET client_name = COALESCE((SELECT "
                       "c.name FROM client c WHERE c.id = client_search_token.client_id), '')",
                   reverse_sql=ops.RunSQL.noop),
        ops.AddIndex(
            model_name='ClientSearchToken',
            index=Index(fields=['token', 'client_name', 'client_id']),
        ),
    ]
