from tortoise import migrations
from tortoise.migrations import operations as ops
from models.settlements import BankLineState, EntryKind, OverrideState, TermsBasis
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0013_activity_order')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BankStatement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('filename', fields.CharField(max_length=255)),
                ('sha256', fields.CharField(max_length=64)),
                ('account', fields.CharField(null=True, max_length=34)),
                ('date_from', fields.DateField(null=True)),
                ('date_to', fields.DateField(null=True)),
                ('uploaded_by', fields.ForeignKeyField('kontakt.User', source_field='uploaded_by_id', null=True, db_constraint=True, to_field='id', related_name='statements', on_delete=OnDelete.SET_NULL)),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('lines_total', fields.IntField(default=0)),
                ('lines_new', fields.IntField(default=0)),
            ],
            options={'table': 'bank_statement', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': 'An uploaded statement (1CClientBankExchange or XLSX). The same file twice adds'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BankLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('statement', fields.ForeignKeyField('kontakt.BankStatement', source_field='statement_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(unique=True, max_length=128)),
                ('number', fields.CharField(null=True, max_length=32)),
                ('dated', fields.DateField()),
                ('amount', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('currency', fields.CharField(default='RUB', max_length=3)),
                ('payer_name', fields.CharField(null=True, max_length=400)),
                ('payer_code', fields.CharField(null=True, max_length=12)),
                ('payer_account', fields.CharField(null=True, max_length=34)),
                ('purpose', fields.TextField(null=True, unique=False)),
                ('invoice_ref', fields.CharField(null=True, max_length=64)),
                ('state', fields.CharEnumField(default=BankLineState.UNMATCHED, description='MATCHED: matched\nUNMATCHED: unmatched\nIGNORED: ignored', enum_type=BankLineState, max_length=10)),
                ('reason', fields.CharField(null=True, max_length=64)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='bank_lines', on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('kontakt.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='bank_lines_decided', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'bank_line', 'app': 'kontakt', 'indexes': [Index(fields=['state', 'dated'])], 'pk_attr': 'id', 'table_description': 'One incoming payment from a statement.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditLimit',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.OneToOneField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='credit_limit', on_delete=OnDelete.CASCADE)),
                ('amount', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('currency', fields.CharField(default='RUB', max_length=3)),
                ('overdue_days', fields.IntField(null=True)),
            ],
            options={'table': 'credit_limit', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': "A client's credit limit (A-15) in a currency. Debt overdue more than overdue_days"},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='CreditOverride',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('kontakt.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='credit_overrides', on_delete=OnDelete.CASCADE)),
                ('requested_by', fields.ForeignKeyField('kontakt.User', source_field='requested_by_id', db_constraint=True, to_field='id', related_name='credit_requests', on_delete=OnDelete.RESTRICT)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('reason', fields.CharField(null=True, max_length=500)),
                ('over_by', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('currency', fields.CharField(max_length=3)),
                ('order_total', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('state', fields.CharEnumField(default=OverrideState.PENDING, description='PENDING: pending\nAPPROVED: approved\nREFUSED: refused', enum_type=OverrideState, max_length=10)),
                ('decided_by', fields.ForeignKeyField('kontakt.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='credit_decisions', on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('comment', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'credit_override', 'app': 'kontakt', 'indexes': [Index(fields=['order_id', 'state'])], 'pk_attr': 'id', 'table_description': "A salesperson's request to post an order over the credit limit (A-15) and the"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CurrencyRate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dated', fields.DateField()),
                ('currency', fields.CharField(max_length=3)),
                ('base', fields.CharField(default='RUB', max_length=3)),
                ('rate', fields.DecimalField(max_digits=18, decimal_places=6)),
                ('source', fields.CharField(default='manual', max_length=16)),
            ],
            options={'table': 'currency_rate', 'app': 'kontakt', 'unique_together': (('dated', 'currency', 'base'),), 'pk_attr': 'id', 'table_description': 'How much of the base currency one unit of the currency is worth on a day'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='ledger', on_delete=OnDelete.RESTRICT)),
                ('legal_entity', fields.ForeignKeyField('kontakt.LegalEntity', source_field='legal_entity_id', null=True, db_constraint=True, to_field='id', related_name='ledger', on_delete=OnDelete.SET_NULL)),
                ('own_entity', fields.ForeignKeyField('kontakt.OwnEntity', source_field='own_entity_id', null=True, db_constraint=True, to_field='id', related_name='ledger', on_delete=OnDelete.RESTRICT)),
                ('currency', fields.CharField(max_length=3)),
                ('kind', fields.CharEnumField(description='INVOICE: invoice\nSHIPMENT: shipment\nPAYMENT: payment\nCREDIT_NOTE: credit_note\nDEBIT: debit\nCREDIT: credit\nREFUND: refund', enum_type=EntryKind, max_length=12)),
                ('dated', fields.DateField()),
                ('amount', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('due', fields.DateField(null=True)),
                ('number', fields.CharField(null=True, max_length=64)),
                ('order', fields.ForeignKeyField('kontakt.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='ledger', on_delete=OnDelete.RESTRICT)),
                ('bank_line', fields.ForeignKeyField('kontakt.BankLine', source_field='bank_line_id', null=True, db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.SET_NULL)),
                ('note', fields.CharField(null=True, max_length=500)),
                ('created_by', fields.ForeignKeyField('kontakt.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='ledger_entries', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('void', fields.BooleanField(default=False)),
            ],
            options={'table': 'ledger_entry', 'app': 'kontakt', 'indexes': [Index(fields=['client_id', 'currency', 'kind']), Index(fields=['kind', 'due']), Index(fields=['order_id']), Index(fields=['dated'])], 'pk_attr': 'id', 'table_description': "One document in a client's ledger."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Allocation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('credit', fields.ForeignKeyField('kontakt.LedgerEntry', source_field='credit_id', db_constraint=True, to_field='id', related_name='allocations_out', on_delete=OnDelete.CASCADE)),
                ('debit', fields.ForeignKeyField('kontakt.LedgerEntry', source_field='debit_id', db_constraint=True, to_field='id', related_name='allocations_in', on_delete=OnDelete.CASCADE)),
                ('amount', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'allocation', 'app': 'kontakt', 'indexes': [Index(fields=['credit_id']), Index(fields=['debit_id'])], 'pk_attr': 'id', 'table_description': 'So much of a credit (a payment, a credit note, a credit adjustment) paid off so'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DueReminder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('kontakt.LedgerEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('offset_days', fields.IntField()),
                ('audience', fields.CharField(max_length=8)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'due_reminder', 'app': 'kontakt', 'unique_together': (('entry', 'offset_days', 'audience'),), 'pk_attr': 'id', 'table_description': 'A due-date reminder sent (to the owner or the client), so it is sent once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentTerms',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.OneToOneField('kontakt.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='payment_terms', on_delete=OnDelete.CASCADE)),
                ('basis', fields.CharEnumField(default=TermsBasis.INVOICE, description='INVOICE: invoice\nSHIPMENT: shipment\nMONTH_END: month_end', enum_type=TermsBasis, max_length=10)),
                ('days', fields.IntField(default=0)),
            ],
            options={'table': 'payment_terms', 'app': 'kontakt', 'pk_attr': 'id', 'table_description': "A client's payment terms (K-6, M-6): how an invoice gets its due date. A client"},
            bases=['TimestampedModel'],
        ),
    ]
