from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.motivation import SchemeBase, SchemeKind, SchemeMetric, SchemeReach, StatementState
from models.plans import PlanMetric
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0017_ranking')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BonusScheme',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('metric', fields.CharEnumField(description='REVENUE: revenue\nMARGIN: margin\nDEALS_WON: deals_won\nACTIVITIES: activities\nDOCUMENTS: documents\nPAYMENTS: payments', enum_type=SchemeMetric, max_length=12)),
                ('activity_type', fields.ForeignKeyField('kontakt.ActivityType', source_field='activity_type_id', null=True, db_constraint=True, to_field='id', related_name='bonus_schemes', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(default=SchemeKind.BONUS, description='BONUS: bonus\nPENALTY: penalty', enum_type=SchemeKind, max_length=8)),
                ('base', fields.CharEnumField(default=SchemeBase.PERCENT, description='PERCENT: percent\nFIXED: fixed', enum_type=SchemeBase, max_length=8)),
                ('currency', fields.CharField(max_length=3)),
                ('reach', fields.CharEnumField(default=SchemeReach.EVERYONE, description='EVERYONE: everyone\nDEPARTMENT: department\nPEOPLE: people', enum_type=SchemeReach, max_length=12)),
                ('department', fields.ForeignKeyField('kontakt.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='bonus_schemes', on_delete=OnDelete.RESTRICT)),
                ('people', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active_from', fields.DateField()),
                ('active_to', fields.DateField(null=True)),
                ('archived', fields.BooleanField(default=False)),
                ('created_by', fields.ForeignKeyField('kontakt.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='bonus_schemes_made', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'bonus_scheme', 'app': 'kontakt', 'indexes': [Index(fields=['archived', 'active_from'])], 'pk_attr': 'id', 'table_description': "A bonus or a penalty on one metric of a person's monthly plan (K-9)."},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='BonusStatement',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='bonus_statements', on_delete=OnDelete.CASCADE)),
                ('month', fields.DateField()),
                ('state', fields.CharEnumField(default=StatementState.DRAFT, description='DRAFT: draft\nAPPROVED: approved', enum_type=StatementState, max_length=10)),
                ('totals', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('approved_by', fields.ForeignKeyField('kontakt.User', source_field='approved_by_id', null=True, db_constraint=True, to_field='id', related_name='bonus_approvals', on_delete=OnDelete.SET_NULL)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reopened_by', fields.ForeignKeyField('kontakt.User', source_field='reopened_by_id', null=True, db_constraint=True, to_field='id', related_name='bonus_reopenings', on_delete=OnDelete.SET_NULL)),
                ('reopened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'bonus_statement', 'app': 'kontakt', 'unique_together': (('user', 'month'),), 'indexes': [Index(fields=['month', 'state'])], 'pk_attr': 'id', 'table_description': "A person's statement of a month once someone approved it (or reopened it)."},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='BonusLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('statement', fields.ForeignKeyField('kontakt.BonusStatement', source_field='statement_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('scheme', fields.ForeignKeyField('kontakt.BonusScheme', source_field='scheme_id', null=True, db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.SET_NULL)),
                ('position', fields.IntField(default=0)),
                ('scheme_name', fields.CharField(max_length=200)),
                ('metric', fields.CharField(max_length=12)),
                ('kind', fields.CharField(max_length=8)),
                ('base', fields.CharField(max_length=8)),
                ('currency', fields.CharField(max_length=3)),
                ('plan_currency', fields.CharField(null=True, max_length=3)),
                ('plan', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('fact', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('achievement', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('step', fields.IntField(null=True)),
                ('rate', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('amount', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('sources', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'bonus_line', 'app': 'kontakt', 'indexes': [Index(fields=['statement_id', 'position'])], 'pk_attr': 'id', 'table_description': "One scheme's line of an approved statement, as it was approved."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SchemeStep',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scheme', fields.ForeignKeyField('kontakt.BonusScheme', source_field='scheme_id', db_constraint=True, to_field='id', related_name='steps', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(default=0)),
                ('lower', fields.DecimalField(max_digits=9, decimal_places=2)),
                ('upper', fields.DecimalField(null=True, max_digits=9, decimal_places=2)),
                ('value', fields.DecimalField(max_digits=16, decimal_places=2)),
            ],
            options={'table': 'bonus_scheme_step', 'app': 'kontakt', 'indexes': [Index(fields=['scheme_id', 'position'])], 'pk_attr': 'id', 'table_description': "One row of a bonus scheme's scale."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='SalesPlan',
            name='metric',
            field=fields.CharEnumField(description='REVENUE: revenue\nMARGIN: margin\nDEALS_WON: deals_won\nQUANTITY: quantity\nSUM: sum\nDOCUMENTS: documents\nPAYMENTS: payments', enum_type=PlanMetric, max_length=10),
        ),
    ]
