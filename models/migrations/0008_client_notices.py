from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0007_mailings')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Activity',
            name='client_notice_hours',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Activity',
            name='client_notice_template',
            field=fields.ForeignKeyField('kontakt.MessageTemplate', source_field='client_notice_template_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Activity',
            name='client_notified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
