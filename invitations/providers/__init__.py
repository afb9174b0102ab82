"""Clients for the upstream session providers, behind one small interface (see base.py)."""
