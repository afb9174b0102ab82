"""Message templates (templates.py: pure text, no models) and rendering them for one invitee
(render.py)."""
