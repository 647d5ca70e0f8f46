from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class AlterFieldState(ops.AlterField):
    """The field's new definition in the migration state only: the index is dropped by
    the SQL below. (tortoise's AlterField rebuilds a SQLite table to drop an index and
    loses the table's other indexes on the way.)"""

    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [('kontakt', '0023_search_name_order')]

    initial = False

    operations = [
        # client_search_token.token had an index of its own beside (token, client_name,
        # client_id), which serves every lookup by token: one B-tree insert less for each
        # of the ~25 tokens a client writes (issue 19). Same SQL on SQLite and PostgreSQL.
        AlterFieldState(
            model_name='ClientSearchToken',
            name='token',
            field=fields.CharField(max_length=64),
        ),
        ops.RunSQL(sql='DROP INDEX IF EXISTS "idx_client_sear_token_ed7303"',
                   reverse_sql='CREATE INDEX IF NOT EXISTS "idx_client_sear_token_ed7303" '
                               'ON "client_search_token" ("token")'),
    ]
