from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.deals import ProcessKind, ProcessMode, StageKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0009_calendar_sync')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProcessType',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(null=True, unique=True, max_length=32)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('kind', fields.CharEnumField(default=ProcessKind.SALE, description='SALE: sale\nCLAIM: claim\nPARTNER: partner', enum_type=ProcessKind, max_length=8)),
                ('mode', fields.CharEnumField(default=ProcessMode.SIMPLE, description='MANAGED: managed\nSIMPLE: simple', enum_type=ProcessMode, max_length=8)),
                ('regulation', fields.TextField(null=True, unique=False)),
                ('sort_order', fields.IntField(default=0)),
                ('archived', fields.BooleanField(default=False)),
            ],
            options={'table': 'process_type', 'app': 'kontakt', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Stage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('process', fields.ForeignKeyField('kontakt.ProcessType', source_field='process_id', db_constraint=True, to_field='id', related_name='stages', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(null=True, max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharEnumField(default=StageKind.OPEN, description='OPEN: open\nWON: won\nLOST: lost', enum_type=StageKind, max_length=4)),
                ('position', fields.IntField(default=0)),
                ('probability', fields.IntField(default=0)),
                ('requires', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('skippable', fields.BooleanField(default=True)),
                ('instructions', fields.TextField(null=True, unique=False)),
                ('playbook', fields.ForeignKeyField('kontakt.Playbook', source_field='playbook_id', null=True, db_constraint=True, to_field='id', related_name='stages', on_delete=OnDelete.SET_NULL)),
                ('days_limit', fields.IntField(null=True)),
                ('archived', fields.BooleanField(default=False)),
            ],
            options={'table': 'deal_stage', 'app': 'kontakt', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Deal',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=200)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='deals', on_delete=OnDelete.RESTRICT)),
                ('contact', fields.ForeignKeyField('kontakt.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='deals', on_delete=OnDelete.SET_NULL)),
                ('process', fields.ForeignKeyField('kontakt.ProcessType', source_field='process_id', db_constraint=True, to_field='id', related_name='deals', on_delete=OnDelete.RESTRICT)),
                ('stage', fields.ForeignKeyField('kontakt.Stage', source_field='stage_id', db_constraint=True, to_field='id', related_name='deals', on_delete=OnDelete.RESTRICT)),
                ('owner', fields.ForeignKeyField('kontakt.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='deals', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('currency', fields.CharField(default='RUB', max_length=3)),
                ('expected_close', fields.DateField(null=True)),
                ('source', fields.ForeignKeyField('kontakt.DictionaryItem', source_field='source_id', null=True, db_constraint=True, to_field='id', related_name='deals_from_source', on_delete=OnDelete.SET_NULL)),
                ('notes', fields.TextField(null=True, unique=False)),
                ('lost_reason', fields.ForeignKeyField('kontakt.DictionaryItem', source_field='lost_reason_id', null=True, db_constraint=True, to_field='id', related_name='deals_lost', on_delete=OnDelete.SET_NULL)),
                ('competitor', fields.ForeignKeyField('kontakt.Client', source_field='competitor_id', null=True, db_constraint=True, to_field='id', related_name='deals_won_against_us', on_delete=OnDelete.SET_NULL)),
                ('probability_override', fields.IntField(null=True)),
                ('probability', fields.IntField(null=True)),
                ('probability_basis', fields.CharField(null=True, max_length=8)),
                ('probability_factors', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'deal', 'app': 'kontakt', 'indexes': [Index(fields=['owner_id', 'stage_id']), Index(fields=['stage_id', 'id']), Index(fields=['process_id', 'closed_at'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='DealEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('deal', fields.ForeignKeyField('kontakt.Deal', source_field='deal_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('from_stage', fields.ForeignKeyField('kontakt.Stage', source_field='from_stage_id', null=True, db_constraint=True, to_field='id', related_name='events_from', on_delete=OnDelete.RESTRICT)),
                ('to_stage', fields.ForeignKeyField('kontakt.Stage', source_field='to_stage_id', db_constraint=True, to_field='id', related_name='events_to', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='deal_events', on_delete=OnDelete.SET_NULL)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('source', fields.CharField(default='web', max_length=16)),
                ('process_id', fields.IntField()),
                ('owner_id', fields.IntField(null=True)),
                ('department_id', fields.IntField(null=True)),
            ],
            options={'table': 'deal_event', 'app': 'kontakt', 'unique_together': (('deal', 'seq'),), 'indexes': [Index(fields=['process_id', 'department_id', 'at']), Index(fields=['owner_id', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DealMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('deal', fields.ForeignKeyField('kontakt.Deal', source_field='deal_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='deal_memberships', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'deal_member', 'app': 'kontakt', 'unique_together': (('deal', 'user'),), 'pk_attr': 'id', 'table_description': "The deal's team besides its owner: they see it and its tasks (U-2)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Activity',
            name='deal',
            field=fields.ForeignKeyField('kontakt.Deal', source_field='deal_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['deal_id', 'state']),
        ),
    ]
