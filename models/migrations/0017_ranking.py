from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0016_sales_plans')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ClientRank',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.OneToOneField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='rank', on_delete=OnDelete.CASCADE)),
                ('abc', fields.CharField(max_length=1)),
                ('xyz', fields.CharField(max_length=1)),
                ('recency', fields.SmallIntField()),
                ('frequency', fields.SmallIntField()),
                ('monetary', fields.SmallIntField()),
                ('segment', fields.CharField(max_length=20)),
                ('revenue', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('margin', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('share', fields.DecimalField(max_digits=7, decimal_places=2)),
                ('cv', fields.DecimalField(null=True, max_digits=9, decimal_places=2)),
                ('orders', fields.IntField()),
                ('last_order_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'client_rank', 'app': 'kontakt', 'indexes': [Index(fields=['abc', 'xyz']), Index(fields=['segment'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
