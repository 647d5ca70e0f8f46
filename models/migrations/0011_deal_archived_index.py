from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kontakt', '0010_deals')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Deal',
            index=Index(fields=['archived_at']),
        ),
    ]
