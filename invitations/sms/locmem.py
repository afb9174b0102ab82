from invitations.sms.base import BaseSmsBackend, SmsMessage

# Every message "sent" in this process, for tests.
outbox: list[SmsMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            message.validate()
        outbox.extend(messages)
        return len(messages)
