"""A trigram index for finding sessions by any key they had, on PostgreSQL only.

The session list's search matches any part of every key a session has had (SessionKey.key),
case-insensitively, as 0012's indexes serve the other columns it searches: a GIN trigram
index on UPPER(key). SQLite has nothing like it; there the migration does nothing.
"""

from django.db import migrations

NAME = "invitations_sessionkey_key_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "invitations_sessionkey" '
        'USING gin (UPPER("key"::text) gin_trgm_ops)'
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [("invitations", "0024_session_keys")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
