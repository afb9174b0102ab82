"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

# A worker runs a deployment, as a WSGI server does (agentportal/wsgi.py): without
# DJANGO_SETTINGS_MODULE, the production settings, which refuse to start without their secrets.
# `manage.py` (and so `make run`) picks the development settings before this runs.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentportal.settings.production")

app = Celery("agentportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task: Task | None = None, **kwargs: Any) -> None:
    """Around each task, what Django does around each request: close a connection past
    CONN_MAX_AGE or after an error, keep the others (CELERY_DB_REUSE_MAX stops Celery from
    closing them all). Not for eager tasks: they run inside the caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
