"""The JSON API at /api/v1/ on django-ninja: endpoints (endpoints.py), what they read and
answer (schemas.py), bearer tokens (auth.py), request parsing (parser.py), the one error shape
(errors.py) and the URLs (urls.py)."""
