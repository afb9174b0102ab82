"""The admin, one module per model group. Importing them registers their model admins (Django
imports this package at start-up)."""

from invitations.admin import agents, audit, credentials, sessions, templates

__all__ = ["agents", "audit", "credentials", "sessions", "templates"]
