"""The portal's own messages: templates.py (the text rules; pure, imports no models), render.py
(which template applies, filled for one invitee; the preview) and send.py (delivering an OnSync
personal link by e-mail or SMS)."""
