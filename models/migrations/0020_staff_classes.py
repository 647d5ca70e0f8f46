from tortoise import migrations
from tortoise.migrations import operations as ops
from models.customization import ClassifierEntity
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0019_loyalty')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StaffClassification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('node', fields.ForeignKeyField('kontakt.ClassifierNode', source_field='node_id', db_constraint=True, to_field='id', related_name='staff_memberships', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('kontakt.User', source_field='user_id', db_constraint=True, to_field='id', related_name='staff_classifications', on_delete=OnDelete.CASCADE)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'staff_classification', 'app': 'kontakt', 'unique_together': (('node', 'user'),), 'pk_attr': 'id', 'table_description': 'S-25 (issue 15): a staff member placed in a staff group by hand.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='ClassifierNode',
            options={'table': 'classifier_node', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'S-9 / M-1: a tree. One client can sit in several branches. A tree is of clients'},
        ),
        ops.AddField(
            model_name='ClassifierNode',
            name='entity',
            field=fields.CharEnumField(default=ClassifierEntity.CLIENT, db_index=True, description='CLIENT: client\nSTAFF: staff', enum_type=ClassifierEntity, max_length=16),
        ),
    ]
