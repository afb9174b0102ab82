"""Webhooks: the SMS gateway's signed status callbacks and the e-mail provider's tracking
webhooks (through django-anymail), which are delivery receipts, and Digital Samba's events,
which say who joined and left. Contracts: docs/upstream-contracts.md.

Every answer is JSON. 401: the callback is not verified; 400: it cannot be read; 404: the
message id is unknown; 409: its invitation is being sent right now (try again); 503: receipts
are not configured (Digital Samba: a participant could not be looked up); 200: recorded
(applied, not applied, or a repeat). Anything but 200 changes nothing (in a post of several
e-mail events, the others are still recorded).
"""
