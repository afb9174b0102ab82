"""Celery tasks: thin wrappers around the service functions of the same name."""

from celery import shared_task

from invitations import services


@shared_task(name="invitations.deliver_invitee", acks_late=True, ignore_result=True)
def deliver_invitee(invitee_id: int) -> None:
    services.invitee_deliver(invitee_id=invitee_id)
