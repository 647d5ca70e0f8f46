from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.deals import PartyLinkKind, PartyRole, ProcessKind, ProcessMode, StageKind, Stance
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
                ('kind', fields.CharEnumField(default=ProcessKind.SALE, description='SALE: sale\nCLAIM: claim\nPARTNER: partner\nEXECUTION: execution', enum_type=ProcessKind, max_length=12)),
                ('mode', fields.CharEnumField(default=ProcessMode.SIMPLE, description='MANAGED: managed\nSIMPLE: simple', enum_type=ProcessMode, max_length=8)),
                ('regulation', fields.TextField(null=True, unique=False)),
                ('next_process', fields.ForeignKeyField('kontakt.ProcessType', source_field='next_process_id', null=True, db_constraint=True, to_field='id', related_name='previous', on_delete=OnDelete.SET_NULL)),
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
                ('advance_when_done', fields.BooleanField(default=False)),
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
                ('parent', fields.ForeignKeyField('kontakt.Deal', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.SET_NULL)),
                ('product', fields.ForeignKeyField('kontakt.Product', source_field='product_id', null=True, db_constraint=True, to_field='id', related_name='deals', on_delete=OnDelete.SET_NULL)),
                ('resolution', fields.TextField(null=True, unique=False)),
                ('our_fault', fields.BooleanField(null=True)),
                ('escalated_seq', fields.IntField(null=True)),
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
            options={'table': 'deal_event', 'app': 'kontakt', 'unique_together': (('deal', 'seq'),), 'indexes': [Index(fields=['process_id', 'department_id', 'at', 'to_stage_id', 'deal_id', 'seq']), Index(fields=['owner_id', 'at', 'process_id', 'to_stage_id', 'deal_id', 'seq']), Index(fields=['deal_id', 'seq', 'at', 'to_stage_id'])], 'pk_attr': 'id'},
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
        ops.CreateModel(
            name='DealParty',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('deal', fields.ForeignKeyField('kontakt.Deal', source_field='deal_id', db_constraint=True, to_field='id', related_name='parties', on_delete=OnDelete.CASCADE)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='deal_parties', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('kontakt.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='deal_parties', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(null=True, max_length=200)),
                ('role', fields.CharEnumField(description='DECISION_MAKER: decision_maker\nINFLUENCER: influencer\nUSER: user\nCOMPETITOR: competitor\nSUBCONTRACTOR: subcontractor\nPARTNER: partner', enum_type=PartyRole, max_length=16)),
                ('stance', fields.CharEnumField(default=Stance.UNKNOWN, description='SUPPORTER: supporter\nNEUTRAL: neutral\nOPPONENT: opponent\nUNKNOWN: unknown', enum_type=Stance, max_length=10)),
                ('note', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'deal_party', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'U-4: a person or a company around a deal — from the client base (a client, e.g.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DealPartyLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.ForeignKeyField('kontakt.DealParty', source_field='source_id', db_constraint=True, to_field='id', related_name='links_out', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('kontakt.DealParty', source_field='target_id', db_constraint=True, to_field='id', related_name='links_in', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='INFLUENCES: influences\nREPORTS_TO: reports_to\nWORKS_WITH: works_with\nCOMPETES_WITH: competes_with', enum_type=PartyLinkKind, max_length=16)),
            ],
            options={'table': 'deal_party_link', 'app': 'kontakt', 'unique_together': (('source', 'target', 'kind'),), 'pk_attr': 'id', 'table_description': 'U-4: how two parties of a deal are tied (who influences whom).'},
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
