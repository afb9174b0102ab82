from invitations.channels.sms.base import BaseSmsBackend, SmsMessage

# Every message "sent" in this process, for tests.
outbox: list[SmsMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            message.validate()  # all of them first: a bad batch sends nothing
        for message in messages:
            message.message_id = f"locmem-{len(outbox) + 1}"
            outbox.append(message)
        return len(messages)
