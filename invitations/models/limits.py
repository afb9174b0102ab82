"""Rate-limit counters, shared by every process through the database."""

from django.db import models


class RateCounter(models.Model):
    """How many invitations one anti-abuse limit has counted in one fixed window
    (invitations/services/limits.py). Rows are deleted once their window is over."""

    # A keyed hash of what is counted (agent, destination, number prefix) and the window.
    key = models.CharField(max_length=100, primary_key=True)
    count = models.PositiveIntegerField()
    # End of the window, in seconds since the epoch (the same clock the window number uses).
    window_ends = models.PositiveBigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
