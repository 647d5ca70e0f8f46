from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0004_activities')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TeamGroup',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_id', fields.BigIntField(unique=True)),
                ('title', fields.CharField(max_length=255)),
                ('department', fields.ForeignKeyField('kontakt.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='team_groups', on_delete=OnDelete.SET_NULL)),
                ('missing_rights', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('set_up_by', fields.ForeignKeyField('kontakt.User', source_field='set_up_by_id', null=True, db_constraint=True, to_field='id', related_name='team_groups_set_up', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'team_group', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'K-2: a forum supergroup of a team where each task gets a topic. One per department'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Discussion',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.OneToOneField('kontakt.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='discussion', on_delete=OnDelete.CASCADE)),
                ('group', fields.ForeignKeyField('kontakt.TeamGroup', source_field='group_id', null=True, db_constraint=True, to_field='id', related_name='discussions', on_delete=OnDelete.SET_NULL)),
                ('thread_id', fields.BigIntField(null=True)),
                ('topic_name', fields.CharField(default='', max_length=128)),
                ('card_message_id', fields.BigIntField(null=True)),
                ('closed', fields.BooleanField(default=False)),
            ],
            options={'table': 'discussion', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'K-2: the conversation of one activity: a topic of a team group, or (without a'},
            bases=['TimestampedModel'],
        ),
        ops.AddField(
            model_name='ActivityComment',
            name='file_id',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='ActivityComment',
            name='kind',
            field=fields.CharField(default='text', max_length=16),
        ),
        ops.AddField(
            model_name='ActivityComment',
            name='telegram_chat_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='ActivityComment',
            name='telegram_message_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddConstraint(
            model_name='ActivityComment',
            constraint=UniqueConstraint(fields=('telegram_chat_id', 'telegram_message_id'), name=None),
        ),
    ]
