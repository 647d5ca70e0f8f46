from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('kontakt', '0014_settlements')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['bank_line_id']),
        ),
    ]
