from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0002_clients')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ClientSearchToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='search_tokens', on_delete=OnDelete.CASCADE)),
                ('token', fields.CharField(db_index=True, max_length=64)),
            ],
            options={'table': 'client_search_token', 'app': 'kontakt', 'indexes': [Index(fields=['token', 'client_id']), Index(fields=['client_id'])], 'pk_attr': 'id', 'table_description': 'A word a client is found by (folded, at most 64 characters).'},
            bases=['Model'],
        ),
    ]
