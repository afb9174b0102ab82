"""Indexes for the pages at 100,000 sessions (bench/scale.py):

- sessions by agent, newest first: an agent's session list and its count read one agent's
  entries of the index instead of walking every session by date;
- invitees by updated_at: the dashboard asks which kept days changed since they were counted
  (invitations.selectors._figures_by_day) and reads only the recent changes;
- delivery receipts by received_at: the admin list, newest first, reads its page from the
  index instead of sorting every receipt.

On PostgreSQL they are built CONCURRENTLY, so a live portal keeps writing while they are made
(hence a non-atomic migration). They are not in the models' Meta, like 0012's.
"""

from django.db import migrations

INDEXES = [
    ("invitations_session_agent_newest", "invitations_session", "created_by_id, created_at, id"),
    ("invitations_invitee_updated_at", "invitations_invitee", "updated_at"),
    ("invitations_receipt_received", "invitations_deliveryreceipt", "received_at, id"),
]


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, table, columns in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX {concurrently}IF NOT EXISTS "{name}" ON "{table}" ({columns})'
        )


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, _table, _columns in INDEXES:
        schema_editor.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("invitations", "0012_search_trigram_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
