from tortoise import migrations
from tortoise.migrations import operations as ops
from models.plans import PlanMetric
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0015_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SalesPlan',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sales_plans', on_delete=OnDelete.CASCADE)),
                ('month', fields.DateField()),
                ('metric', fields.CharEnumField(description='REVENUE: revenue\nMARGIN: margin\nDEALS_WON: deals_won\nQUANTITY: quantity\nSUM: sum', enum_type=PlanMetric, max_length=10)),
                ('product', fields.ForeignKeyField('kontakt.Product', source_field='product_id', null=True, db_constraint=True, to_field='id', related_name='sales_plans', on_delete=OnDelete.CASCADE)),
                ('category', fields.ForeignKeyField('kontakt.ProductCategory', source_field='category_id', null=True, db_constraint=True, to_field='id', related_name='sales_plans', on_delete=OnDelete.CASCADE)),
                ('currency', fields.CharField(null=True, max_length=3)),
                ('target', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('subject', fields.CharField(default='', max_length=40)),
                ('set_by', fields.ForeignKeyField('kontakt.User', source_field='set_by_id', null=True, db_constraint=True, to_field='id', related_name='sales_plans_set', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'sales_plan', 'app': 'kontakt', 'unique_together': (('user', 'month', 'metric', 'subject'),), 'indexes': [Index(fields=['month', 'user_id'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
    ]
