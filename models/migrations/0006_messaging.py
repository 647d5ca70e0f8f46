from tortoise import migrations
from tortoise.migrations import operations as ops
from models.messaging import Channel, OutboxState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0005_discussions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MessageTemplate',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('channel', fields.CharEnumField(description='EMAIL: email\nSMS: sms', enum_type=Channel, max_length=8)),
                ('language', fields.CharField(default='ru', max_length=2)),
                ('subject', fields.CharField(default='', max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('html', fields.TextField(null=True, unique=False)),
                ('archived', fields.BooleanField(default=False)),
                ('created_by', fields.ForeignKeyField('kontakt.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='templates', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'message_template', 'app': 'kontakt', 'unique_together': (('name', 'channel', 'language'),), 'pk_attr': 'id', 'table_description': 'A Jinja2 template per channel and language. Variables: client, contact, sender,'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='OutboundMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharEnumField(description='EMAIL: email\nSMS: sms', enum_type=Channel, max_length=8)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.CharField(default='', max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('html', fields.TextField(null=True, unique=False)),
                ('reply_to', fields.CharField(null=True, max_length=254)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('contact', fields.ForeignKeyField('kontakt.ContactPerson', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('activity', fields.ForeignKeyField('kontakt.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('template', fields.ForeignKeyField('kontakt.MessageTemplate', source_field='template_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('mailing_id', fields.IntField(null=True)),
                ('created_by', fields.ForeignKeyField('kontakt.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='messages_sent', on_delete=OnDelete.SET_NULL)),
                ('state', fields.CharEnumField(default=OutboxState.QUEUED, description='QUEUED: queued\nSENDING: sending\nSENT: sent\nFAILED: failed\nCANCELLED: cancelled', enum_type=OutboxState, max_length=10)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('provider_id', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbound_message', 'app': 'kontakt', 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['client_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One message to one address. Claimed once by a sending process (a conditional'},
            bases=['Model'],
        ),
    ]
