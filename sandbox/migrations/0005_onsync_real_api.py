# OnSync's sessions get integer ids and the real API's fields. The sandbox's OnSync data is
# throwaway (its sessions lived as long as a demo), so the tables are made anew.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sandbox", "0004_fault_redirect_and_link"),
    ]

    operations = [
        migrations.DeleteModel(name="OnSyncParticipant"),
        migrations.DeleteModel(name="OnSyncSession"),
        migrations.CreateModel(
            name="OnSyncSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account", models.CharField(max_length=100)),
                ("topic", models.CharField(max_length=255)),
                ("duration", models.PositiveIntegerField()),
                ("start_time", models.CharField(max_length=19)),
                ("timezone", models.CharField(max_length=20)),
                ("friendly_url", models.CharField(max_length=100)),
                ("password", models.CharField(blank=True, max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "friendly_url"),
                        name="sandbox_onsync_unique_friendly_url",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OnSyncParticipant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("email", models.CharField(max_length=254)),
                ("first_name", models.CharField(max_length=100)),
                ("last_name", models.CharField(max_length=100)),
                ("role", models.PositiveSmallIntegerField(choices=[(1, "Moderator"), (2, "Participant"), (3, "Observer")], default=2)),
                ("send_email_invitation", models.BooleanField(default=False)),
                ("email_sent", models.BooleanField(default=False)),
                ("token", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("session", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="participants", to="sandbox.onsyncsession")),
            ],
            options={
                "ordering": ["id"],
            },
        ),
    ]
