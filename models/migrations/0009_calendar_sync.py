from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.calendar import LinkState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0008_client_notices')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('kontakt.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name='calendar_events', on_delete=OnDelete.SET_NULL)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='calendar_events', on_delete=OnDelete.CASCADE)),
                ('event_id', fields.CharField(max_length=64)),
                ('calendar_id', fields.CharField(null=True, max_length=255)),
                ('etag', fields.CharField(null=True, max_length=64)),
                ('in_google', fields.BooleanField(default=False)),
                ('wanted', fields.BooleanField(default=True)),
                ('snapshot', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('body_hash', fields.CharField(null=True, max_length=64)),
                ('dirty', fields.BooleanField(default=True)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('synced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'calendar_event', 'app': 'kontakt', 'unique_together': (('user', 'event_id'), ('activity', 'user')), 'indexes': [Index(fields=['dirty', 'user_id'])], 'pk_attr': 'id', 'table_description': 'K-1 one activity in one person calendar and the outbox row that pushes it'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CalendarLink',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='calendar_link', on_delete=OnDelete.CASCADE)),
                ('mode', fields.CharField(default='oauth', max_length=8)),
                ('account', fields.CharField(null=True, max_length=254)),
                ('token', fields.TextField(null=True, unique=False)),
                ('calendar_id', fields.CharField(null=True, max_length=255)),
                ('calendar_name', fields.CharField(default='Kontakt', max_length=255)),
                ('calendar_ours', fields.BooleanField(default=False)),
                ('state', fields.CharEnumField(default=LinkState.ACTIVE, description='ACTIVE: active\nPAUSED: paused\nREMOVING: removing', enum_type=LinkState, max_length=10)),
                ('remove_events', fields.BooleanField(default=True)),
                ('paused_reason', fields.CharField(null=True, max_length=300)),
                ('sync_token', fields.CharField(null=True, max_length=1000)),
                ('channel_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('channel_token', fields.CharField(null=True, max_length=64)),
                ('channel_resource_id', fields.CharField(null=True, max_length=255)),
                ('channel_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pull_wanted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_pull_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('locked_by', fields.CharField(null=True, max_length=64)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'calendar_link', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'K-1 one person and their Google calendar and the state of the sync'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='CompanyGoogle',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.TextField(unique=False)),
                ('client_email', fields.CharField(max_length=254)),
                ('set_by', fields.ForeignKeyField('kontakt.User', source_field='set_by_id', null=True, db_constraint=True, to_field='id', related_name='google_keys_set', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'company_google', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'K-1 a Google Workspace service account with domain-wide delegation set by an admin'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='IcsFeed',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='ics_feed', on_delete=OnDelete.CASCADE)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ics_feed', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'K-1 a secret address of a person read-only ICS feed, revocable'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Mailing',
            name='progress_chat_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Mailing',
            name='progress_message_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Mailing',
            name='summary_sent_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='attachments',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
