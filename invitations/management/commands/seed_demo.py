import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from invitations import services
from invitations.models import Team

DEMO_CREDENTIAL = "demo-glance"
DEMO_PUID = "agent-1001"
DEMO_TEAM = "Demo team"


class Command(BaseCommand):
    help = (
        "Create the demo admin, the demo agent and their supervisor (team 'Demo team'), and the "
        "sandbox credentials 'demo-glance' (also as 'demo-glance-gjwt' and 'demo-glance-gssnid', "
        "with tokens from Glance's Authorization Service), "
        "'demo-onsync' (OnSync e-mails personal links), 'demo-onsync-portal' (the portal "
        "delivers them) and 'demo-digitalsamba' (the portal delivers links into private rooms). "
        "Safe to run again. Passwords come from DEMO_PASSWORD, or are generated and printed "
        "when a user is first created."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        credential, _ = services.credential_upsert(
            label=DEMO_CREDENTIAL,
            provider="glance",
            base_url=settings.SANDBOX_BASE_URL,
            group_id=settings.SANDBOX_GLANCE_GROUP_ID,
            api_key=settings.SANDBOX_GLANCE_API_KEY,
        )
        self.stdout.write(f"credential {credential.label}: {credential.base_url}")
        # The same demo partner with tokens minted by Glance's Authorization Service.
        for label, auth_type in (("demo-glance-gjwt", "gjwt"), ("demo-glance-gssnid", "gssnid")):
            minted, _ = services.credential_upsert(
                label=label,
                provider="glance",
                base_url=settings.SANDBOX_BASE_URL,
                group_id=settings.SANDBOX_GLANCE_GROUP_ID,
                auth_type=auth_type,
                api_key=settings.SANDBOX_GLANCE_API_KEY,
            )
            self.stdout.write(f"credential {minted.label}: {minted.base_url}")
        for label, link_delivery in (
            ("demo-onsync", "provider"),
            ("demo-onsync-portal", "portal"),
        ):
            onsync, _ = services.credential_upsert(
                label=label,
                provider="onsync",
                base_url=settings.SANDBOX_ONSYNC_BASE_URL,
                account=settings.SANDBOX_ONSYNC_ACCOUNT,
                api_key=settings.SANDBOX_ONSYNC_PASSWORD,
                link_delivery=link_delivery,
            )
            self.stdout.write(f"credential {onsync.label}: {onsync.base_url}")
        samba, _ = services.credential_upsert(
            label="demo-digitalsamba",
            provider="digitalsamba",
            base_url=settings.SANDBOX_DIGITALSAMBA_BASE_URL,
            account=settings.SANDBOX_DIGITALSAMBA_TEAM_ID,
            api_key=settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY,
        )
        self.stdout.write(f"credential {samba.label}: {samba.base_url}")
        fixed_password = os.environ.get("DEMO_PASSWORD") or None
        user_model = get_user_model()
        team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
        # Usernames are logins; customers' messages name the agent by the display name.
        for username, display_name, puid, is_superuser, supervisor in (
            ("admin", "Alex", "admin-1000", True, False),
            ("agent", "Maria", DEMO_PUID, False, False),
            ("supervisor", "Sam", "supervisor-1002", False, True),
        ):
            exists = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).exists()
            password = fixed_password or (None if exists else secrets.token_urlsafe(9))
            services.agent_upsert(
                username=username,
                partner_user_id=puid,
                credential=credential,
                password=password,
                is_superuser=is_superuser,
                team=team,
                supervisor=supervisor,
                display_name=display_name,
            )
            shown = password or "unchanged (set DEMO_PASSWORD to reset it)"
            self.stdout.write(f"login {username:<10} password {shown}")
