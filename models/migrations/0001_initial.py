from tortoise import migrations
from tortoise.migrations import operations as ops
from models.staff import Language, Role, StaffStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Department',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('parent', fields.ForeignKeyField('kontakt.Department', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'department', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'A node of the organisation tree.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Position',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
            ],
            options={'table': 'position', 'app': 'kontakt', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('telegram_id', fields.BigIntField(null=True, unique=True)),
                ('telegram_username', fields.CharField(null=True, max_length=64)),
                ('full_name', fields.CharField(max_length=200)),
                ('phone', fields.CharField(null=True, max_length=32)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('photo_file_id', fields.CharField(null=True, max_length=255)),
                ('position', fields.ForeignKeyField('kontakt.Position', source_field='position_id', null=True, db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.SET_NULL)),
                ('department', fields.ForeignKeyField('kontakt.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.SET_NULL)),
                ('supervisor', fields.ForeignKeyField('kontakt.User', source_field='supervisor_id', null=True, db_constraint=True, to_field='id', related_name='subordinates', on_delete=OnDelete.SET_NULL)),
                ('role', fields.CharEnumField(default=Role.MANAGER, description='ADMIN: admin\nHEAD: head\nMANAGER: manager', enum_type=Role, max_length=16)),
                ('language', fields.CharEnumField(default=Language.RU, description='RU: ru\nUK: uk\nEN: en', enum_type=Language, max_length=2)),
                ('timezone', fields.CharField(default='Europe/Moscow', max_length=64)),
                ('status', fields.CharEnumField(default=StaffStatus.ACTIVE, db_index=True, description='ACTIVE: active\nDISMISSED: dismissed', enum_type=StaffStatus, max_length=16)),
                ('dismissed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('search_text', fields.CharField(default='', max_length=700)),
            ],
            options={'table': 'staff_user', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'A staff member. Only rows here with status ``active`` may use the product.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Invite',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('role', fields.CharEnumField(description='ADMIN: admin\nHEAD: head\nMANAGER: manager', enum_type=Role, max_length=16)),
                ('department', fields.ForeignKeyField('kontakt.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='invites', on_delete=OnDelete.SET_NULL)),
                ('created_by', fields.ForeignKeyField('kontakt.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='invites_created', on_delete=OnDelete.SET_NULL)),
                ('note', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('used_by', fields.ForeignKeyField('kontakt.User', source_field='used_by_id', null=True, db_constraint=True, to_field='id', related_name='invite_used', on_delete=OnDelete.SET_NULL)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invite', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'A single-use invite. Only the SHA-256 of its code is kept: the code itself'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='login_tokens', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_token', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': "A one-time link that signs a desktop browser in (sent by the bot's /web)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='web_sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('via', fields.CharField(max_length=16)),
            ],
            options={'table': 'web_session', 'app': 'kontakt', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
