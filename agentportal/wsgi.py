"""WSGI entry point, e.g. `gunicorn agentportal.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentportal.settings.base")

application = get_wsgi_application()
