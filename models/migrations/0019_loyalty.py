from tortoise import migrations
from tortoise.migrations import operations as ops
from models.loyalty import MoveKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0018_motivation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoyaltyTier',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=60)),
                ('threshold', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('accrual', fields.DecimalField(max_digits=7, decimal_places=2)),
                ('discount_group', fields.ForeignKeyField('kontakt.DiscountGroup', source_field='discount_group_id', null=True, db_constraint=True, to_field='id', related_name='loyalty_tiers', on_delete=OnDelete.SET_NULL)),
                ('archived', fields.BooleanField(default=False)),
            ],
            options={'table': 'loyalty_tier', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'A tier: reached by spend over the last 12 months (in the company currency). An'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='LoyaltyCard',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.CharField(unique=True, max_length=20)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='loyalty_cards', on_delete=OnDelete.CASCADE)),
                ('tier', fields.ForeignKeyField('kontakt.LoyaltyTier', source_field='tier_id', null=True, db_constraint=True, to_field='id', related_name='cards', on_delete=OnDelete.SET_NULL)),
                ('spend', fields.DecimalField(default=0, max_digits=16, decimal_places=2)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('issued_by', fields.ForeignKeyField('kontakt.User', source_field='issued_by_id', null=True, db_constraint=True, to_field='id', related_name='loyalty_cards_issued', on_delete=OnDelete.SET_NULL)),
                ('blocked', fields.BooleanField(default=False)),
                ('archived', fields.BooleanField(default=False)),
            ],
            options={'table': 'loyalty_card', 'app': 'kontakt', 'indexes': [Index(fields=['client_id', 'archived'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='LoyaltyMove',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('card', fields.ForeignKeyField('kontakt.LoyaltyCard', source_field='card_id', db_constraint=True, to_field='id', related_name='moves', on_delete=OnDelete.CASCADE)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='loyalty_moves', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='ACCRUAL: accrual\nREDEMPTION: redemption\nADJUSTMENT: adjustment\nEXPIRY: expiry\nREVERSAL: reversal', enum_type=MoveKind, max_length=12)),
                ('points', fields.IntField()),
                ('order', fields.ForeignKeyField('kontakt.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='loyalty_moves', on_delete=OnDelete.SET_NULL)),
                ('amount', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('reason', fields.CharField(null=True, max_length=300)),
                ('author', fields.ForeignKeyField('kontakt.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='loyalty_moves', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expired', fields.BooleanField(default=False)),
                ('ledger_entry', fields.ForeignKeyField('kontakt.LedgerEntry', source_field='ledger_entry_id', null=True, db_constraint=True, to_field='id', related_name='loyalty_moves', on_delete=OnDelete.SET_NULL)),
                ('key', fields.CharField(null=True, unique=True, max_length=64)),
            ],
            options={'table': 'loyalty_move', 'app': 'kontakt', 'indexes': [Index(fields=['card_id', 'created_at']), Index(fields=['order_id']), Index(fields=['expires_at', 'expired'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
