from tortoise import migrations
from tortoise.migrations import operations as ops
from models.messaging import Channel, MailingState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0006_messaging')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Mailing',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('channel', fields.CharEnumField(description='EMAIL: email\nSMS: sms', enum_type=Channel, max_length=8)),
                ('template', fields.ForeignKeyField('kontakt.MessageTemplate', source_field='template_id', db_constraint=True, to_field='id', related_name='mailings', on_delete=OnDelete.RESTRICT)),
                ('segment_id', fields.IntField(null=True)),
                ('per_minute', fields.IntField(default=60)),
                ('state', fields.CharEnumField(default=MailingState.DRAFT, description='DRAFT: draft\nRUNNING: running\nPAUSED: paused\nCANCELLED: cancelled\nDONE: done', enum_type=MailingState, max_length=10)),
                ('created_by', fields.ForeignKeyField('kontakt.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='mailings', on_delete=OnDelete.SET_NULL)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mailing', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': "K-16: one template to a list (a segment's members or chosen clients), sent at a"},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='MailingRecipient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mailing', fields.ForeignKeyField('kontakt.Mailing', source_field='mailing_id', db_constraint=True, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='mailing_rows', on_delete=OnDelete.SET_NULL)),
                ('address', fields.CharField(null=True, max_length=254)),
                ('state', fields.CharField(default='pending', max_length=10)),
                ('reason', fields.CharField(null=True, max_length=100)),
                ('message', fields.ForeignKeyField('kontakt.OutboundMessage', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='mailing_rows', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'mailing_recipient', 'app': 'kontakt', 'unique_together': (('mailing', 'client'),), 'indexes': [Index(fields=['mailing_id', 'state'])], 'pk_attr': 'id', 'table_description': 'One person of a mailing and what became of them (the per-recipient log).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Unsubscribe',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharEnumField(description='EMAIL: email\nSMS: sms', enum_type=Channel, max_length=8)),
                ('address', fields.CharField(max_length=254)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'unsubscribe', 'app': 'kontakt', 'unique_together': (('channel', 'address'),), 'pk_attr': 'id', 'table_description': 'An address that asked for no more mailings (the link in an email, STOP by SMS).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Client',
            name='do_not_contact',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Client',
            name='email_consent',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Client',
            name='sms_consent',
            field=fields.BooleanField(default=True),
        ),
    ]
