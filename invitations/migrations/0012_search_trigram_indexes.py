"""Trigram indexes for the session list's search, on PostgreSQL only.

The search matches any part of a session key, ticket reference, invitee name or number,
case-insensitively (Django's icontains: UPPER(column) LIKE UPPER('%text%')). A B-tree index
cannot serve that; a trigram GIN index on UPPER(column) can. pg_trgm is a trusted extension
(PostgreSQL 13+), so the database owner may create it. SQLite has nothing like it; there the
migration does nothing.
"""

from django.db import migrations

INDEXES = [
    ("invitations_session_key_trgm", "invitations_session", "session_key"),
    ("invitations_session_ticket_trgm", "invitations_session", "ticket_reference"),
    ("invitations_invitee_name_trgm", "invitations_invitee", "name"),
    ("invitations_invitee_destination_trgm", "invitations_invitee", "destination"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("invitations", "0011_labels")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
