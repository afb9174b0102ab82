"""Secrets at rest, redaction of logs and errors, and the links the portal will send."""
