from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0014_settlements')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ClientManager',
            index=Index(fields=['user_id', 'unassigned_at']),
        ),
        ops.AddIndex(
            model_name='ClientManager',
            index=Index(fields=['client_id', 'unassigned_at']),
        ),
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['bank_line_id']),
        ),
    ]
