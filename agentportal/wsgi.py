"""WSGI entry point, e.g. `gunicorn agentportal.wsgi`.

A WSGI server runs a deployment, so without DJANGO_SETTINGS_MODULE this is the production
settings, which stop at start-up without SECRET_KEY and the other secrets, instead of the
development settings with their development keys. `manage.py runserver` (`make run`) chooses
the development settings before it loads this module.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentportal.settings.production")

application = get_wsgi_application()
