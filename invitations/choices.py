"""The models' enumerations (provider, channel, authentication), declarations only like
states.py, so that code which must not import the models (messaging/templates.py) can name
them. `invitations.models` re-exports them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    GLANCE = "glance", "Glance"
    ONSYNC = "onsync", "OnSync"
    DIGITALSAMBA = "digitalsamba", "Digital Samba"


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class AuthType(models.TextChoices):
    # GKEY: a fresh login key is generated from the stored API key for every request.
    GKEY = "gkey", "Glance GKEY login key (partnerid&partneruserid&loginkey)"
    GKEY_ADDRESS = "gkey_address", "Glance GKEY login key (glanceaddress~loginkey)"
    # Tokens asked of Glance's Authorization Service with a login key made from the stored API
    # key, per agent; kept in memory only (providers/glance.py).
    GSSNID = "gssnid", "Glance GSSNID website session id"
    GJWT = "gjwt", "Glance GJWT JSON web token"
    # The credential's account and this secret: OnSync's account login and password, Digital
    # Samba's team id and developer key.
    BASIC = "basic", "Account password or developer key (HTTP Basic)"


AUTH_TYPES_BY_PROVIDER = {
    Provider.GLANCE: {AuthType.GKEY, AuthType.GKEY_ADDRESS, AuthType.GSSNID, AuthType.GJWT},
    Provider.ONSYNC: {AuthType.BASIC},
    Provider.DIGITALSAMBA: {AuthType.BASIC},
}


class AuthHeader(models.TextChoices):
    AUTHORIZATION = "authorization", "Authorization: Bearer <type> <token>"
    X_GSSNID = "x-gssnid", "X-GSSNID: <token> (GSSNID only)"


class LinkDelivery(models.TextChoices):
    """Who delivers OnSync's personal session links to the invitee (Digital Samba's are always
    delivered by the portal)."""

    PROVIDER = "provider", "OnSync e-mails each invitee (send_email_invitation: true)"
    PORTAL = "portal", "The portal delivers them by e-mail or SMS (send_email_invitation: false)"


# Where a credential's secret is sent and which account it speaks for. Changing one of them
# needs the secret entered again in the same save: otherwise whoever may edit a credential could
# have its stored secret sent to a host (or account) of their choosing, e.g. by Test connection.
