from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitations"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from invitations import checks  # noqa: F401  (registers the system checks)
        from invitations.models import Invitee
        from invitations.reporting.figures import forget_dashboard_figures

        # The dashboard keeps counted figures; a removed invitation (also when its session is
        # removed) must not stay in them. Nothing else removes invitations.
        post_delete.connect(
            lambda **kwargs: forget_dashboard_figures(),
            sender=Invitee,
            weak=False,
            dispatch_uid="invitations.forget_dashboard_figures",
        )
