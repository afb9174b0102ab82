"""What the PostgreSQL, Redis and Celery tests (tests/stack) share with their conftest."""

# The Celery worker's database connections carry this name, so that tests can find them in
# pg_stat_activity.
WORKER_APPLICATION_NAME = "agentportal-test-worker"
