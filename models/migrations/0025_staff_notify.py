from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL only (services/staff_listen.py): every statement that inserts, changes or
# deletes staff notifies the channel kontakt_staff when it commits, so each replica
# empties its cache of staff at once, whatever wrote the change. SQLite: nothing (one
# process owns the file and empties its cache itself).
_CREATE = (
    'CREATE OR REPLACE FUNCTION kontakt_staff_changed() RETURNS trigger AS $$ '
    "BEGIN PERFORM pg_notify('kontakt_staff', ''); RETURN NULL; END $$ LANGUAGE plpgsql",
    'DROP TRIGGER IF EXISTS staff_user_changed ON "staff_user"',
    'CREATE TRIGGER staff_user_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
    'ON "staff_user" FOR EACH STATEMENT EXECUTE FUNCTION kontakt_staff_changed()',
)
_DROP = (
    'DROP TRIGGER IF EXISTS staff_user_changed ON "staff_user"',
    'DROP FUNCTION IF EXISTS kontakt_staff_changed()',
)


async def _run(editor, statements) -> None:
    if editor.client.capabilities.dialect != "postgres":
        return
    for sql in statements:
        await editor._run_sql(sql)  # noqa: SLF001


async def forward(apps, editor) -> None:
    await _run(editor, _CREATE)


async def backward(apps, editor) -> None:
    await _run(editor, _DROP)


class Migration(migrations.Migration):
    dependencies = [('kontakt', '0024_token_index')]

    initial = False

    operations = [ops.RunPython(forward, backward)]
