"""A logging filter that scrubs credentials from every record before any handler writes it."""

import logging

from invitations.security.redaction import redact, redact_personal_data


class RedactingFilter(logging.Filter):
    """Applies `redact` to the formatted message (and the exception text) of each record,
    so a login key, a Bearer token or an X-GSSNID value never reaches a log line, whichever
    library logged it; customers' numbers and addresses become their destination hash."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact_personal_data(redact(message))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
