import uuid

from django.db import models


class OutboxMessage(models.Model):
    """A message the sandbox 'sent' to a customer instead of a real SMS or e-mail."""

    provider = models.CharField(max_length=20)
    channel = models.CharField(max_length=10)
    to = models.CharField(max_length=254)
    body = models.TextField()
    session_key = models.CharField(max_length=64, db_index=True)
    session_type = models.PositiveSmallIntegerField(null=True)
    partner_user_id = models.CharField(max_length=128, blank=True)
    session_params = models.JSONField(default=dict, blank=True)
    # The caller's own id for the message (the SMS gateway's `reference`).
    reference = models.CharField(max_length=64, blank=True)
    # The id the provider answered with, where it answers with one (the SMS gateway).
    message_id = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}"


class GlanceToken(models.Model):
    """A GJWT or GSSNID token the sandbox's Glance Authorization Service issued.

    Kept in the database, not in memory, so that every server process accepts it. Only its
    SHA-256 digest is kept, as a server keeps a password.
    """

    class Kind(models.TextChoices):
        GJWT = "GJWT"
        GSSNID = "GSSNID"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True)
    group_id = models.PositiveIntegerField()
    partner_user_id = models.CharField(max_length=128)
    # The `service` it was issued for (smsInvite takes `webservices` tokens only).
    service = models.CharField(max_length=40)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} of {self.partner_user_id} in group {self.group_id}"


class GlanceSession(models.Model):
    """A Glance session the sandbox's smsInvite created, and how far the two sides got.

    Before the visitor opens the link Glance has no session to find (`LookupPartnerSession2`
    answers `<id>0</id>`); opening it starts the session (`W`, waiting for the agent) and gives
    it its id; the agent's viewer then makes it active (`A`). Status letters as in Glance's
    Activity Service.
    """

    class Status(models.TextChoices):
        NOT_STARTED = "", "not started"
        WAITING = "W", "waiting for the agent"
        ACTIVE = "A", "agent and visitor connected"

    # What smsInvite answered as `sessionKey`; the visitor's link and every lookup name it.
    session_key = models.CharField(max_length=64, unique=True)
    group_id = models.PositiveIntegerField()
    # The agent who sent the invitation.
    partner_user_id = models.CharField(max_length=128)
    session_type = models.PositiveSmallIntegerField(null=True)
    status = models.CharField(max_length=1, choices=Status.choices, default="", blank=True)
    # Glance's id of the session: none until the visitor starts it, then never changes.
    glance_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The first agent whose viewer connected to the visitor.
    agent_partner_user_id = models.CharField(max_length=128, blank=True)
    agent_joined_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.session_key} ({self.status or 'not started'})"


class OnSyncSession(models.Model):
    """A session of the sandbox's OnSync; its primary key is the id OnSync answers with."""

    # The account login it belongs to (the path segment and the HTTP Basic user).
    account = models.CharField(max_length=100)
    topic = models.CharField(max_length=255)
    duration = models.PositiveIntegerField()
    # As the client wrote it (`YYYY-MM-DD HH:MM:SS`), wall-clock time in `timezone`.
    start_time = models.CharField(max_length=19)
    timezone = models.CharField(max_length=20)
    # The last segment of the generic session link, `/go/<account>/<friendly_url>/`.
    friendly_url = models.CharField(max_length=100)
    password = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "friendly_url"], name="sandbox_onsync_unique_friendly_url"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.topic}"


class OnSyncParticipant(models.Model):
    """An invitee of a session, with the token of their personal session link."""

    class Role(models.IntegerChoices):
        MODERATOR = 1
        PARTICIPANT = 2
        OBSERVER = 3

    session = models.ForeignKey(
        OnSyncSession, on_delete=models.CASCADE, related_name="participants"
    )
    email = models.CharField(max_length=254)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    role = models.PositiveSmallIntegerField(choices=Role.choices, default=Role.PARTICIPANT)
    send_email_invitation = models.BooleanField(default=False)
    email_sent = models.BooleanField(default=False)
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The invitees list answers in the order participants were added.
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        # Clients send a single space for a missing part (facts.md §1.6).
        return f"{self.first_name.strip()} {self.last_name.strip()}".strip()


class DigitalSambaWebhook(models.Model):
    """A webhook of the sandbox Digital Samba's one team: where events are posted, and which."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.CharField(max_length=100)
    # Sent as `Authorization: Bearer <this>` with every delivery when not empty.
    authorization_header = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=100, blank=True)
    # Event names, as `GET /events` lists them.
    events = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name or self.endpoint


class DigitalSambaRoom(models.Model):
    """A room of the sandbox Digital Samba's one team."""

    class Privacy(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    friendly_url = models.CharField(max_length=32)
    privacy = models.CharField(max_length=7, choices=Privacy.choices)
    description = models.CharField(max_length=500, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    # Role names, from the team's roles (sandbox.digitalsamba_rooms.ROLES).
    default_role = models.CharField(max_length=20)
    roles = models.JSONField(default=list)
    # When not empty, only these of the team's webhooks hear about this room.
    webhooks = models.ManyToManyField(DigitalSambaWebhook, blank=True, related_name="rooms")
    # Set when a room with session history is deleted: it is gone from the API and its page,
    # but its sessions still name it (`room_is_deleted`).
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["friendly_url"],
                condition=models.Q(deleted_at__isnull=True),
                name="sandbox_digitalsamba_unique_friendly_url",
            )
        ]

    def __str__(self) -> str:
        return self.friendly_url


class DigitalSambaSession(models.Model):
    """A live session (or a past one) in a room: from the first join to its end."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(DigitalSambaRoom, on_delete=models.CASCADE, related_name="sessions")
    start_time = models.DateTimeField()
    # NULL while the session is live.
    end_time = models.DateTimeField(null=True, blank=True)
    # The most participants that were in the session at once.
    participants_max = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.room} at {self.start_time:%Y-%m-%d %H:%M}"


class DigitalSambaParticipant(models.Model):
    """One stay of one person in a session; opening the link again is another stay."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        DigitalSambaSession, on_delete=models.CASCADE, related_name="participants"
    )
    # The token's `ud`, as the caller wrote it.
    external_id = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=20)
    join_time = models.DateTimeField()
    # NULL while the participant is in the session.
    leave_time = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Target(models.TextChoices):
    """The emulated upstream APIs, as fault rules and the request log name them."""

    GLANCE = "glance", "Glance"
    ONSYNC = "onsync", "OnSync"
    SMS_GATEWAY = "sms-gateway", "SMS gateway"
    DIGITALSAMBA = "digitalsamba", "Digital Samba"


class FaultMode(models.TextChoices):
    STATUS = "status"
    SLOW = "slow"
    MALFORMED = "malformed"
    RESET = "reset"
    REDIRECT = "redirect"
    LINK = "link"


class FaultRule(models.Model):
    """A failure the sandbox plays instead of (or around) a target's real answer.

    Rules of a target are consumed in order of creation; see `sandbox.faults`.
    """

    target = models.CharField(max_length=20, choices=Target.choices)
    mode = models.CharField(max_length=20, choices=FaultMode.choices)
    # The status answered in mode "status".
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # Seconds for a Retry-After header, in mode "status".
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    # Where a "redirect" points, or the link a "link" fault puts in the answer.
    url = models.CharField(max_length=500, blank=True)
    # Seconds to wait before acting, in every mode; the whole point of mode "slow".
    delay_seconds = models.FloatField(default=0)
    # Requests still to be faulted; NULL: every request until the rule is cleared. Spent rules
    # stay at 0 so that the list of rules shows what happened.
    remaining = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.target} {self.mode}"


class SandboxRequest(models.Model):
    """One call to an emulated upstream API, whatever it was answered with."""

    target = models.CharField(max_length=20, choices=Target.choices, db_index=True)
    method = models.CharField(max_length=16)
    path = models.CharField(max_length=500)
    # NULL while the request is being answered; 0 when a "reset" fault dropped the connection.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The fault mode played, or "" for none.
    fault = models.CharField(max_length=20, blank=True, choices=FaultMode.choices)
    # When the request arrived (the row is written before the request is answered).
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"
