"""Celery tasks: thin wrappers around the service functions of the same name."""

from celery import shared_task

from invitations import services


@shared_task(name="invitations.deliver_invitee", acks_late=True, ignore_result=True)
def deliver_invitee(invitee_id: int) -> None:
    services.invitee_deliver(invitee_id=invitee_id)


@shared_task(name="invitations.poll_invitee_presence", ignore_result=True)
def poll_invitee_presence(invitee_id: int, last_checked: str | None) -> None:
    services.invitee_presence_poll(invitee_id=invitee_id, last_checked=last_checked)
