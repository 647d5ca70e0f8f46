from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0020_staff_classes')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Order',
            name=None,
            fields=['state', 'posted_at'],
        ),
        ops.AddIndex(
            model_name='Order',
            index=Index(fields=['state', 'posted_at', 'client_id', 'currency']),
        ),
        ops.AddIndex(
            model_name='OrderLine',
            index=Index(fields=['order_id', 'amount', 'cost']),
        ),
    ]
