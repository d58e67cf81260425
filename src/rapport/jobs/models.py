"""The runs of the periodic schedule: one row per entry and due time, written by whoever
enqueues it, so several workers on several machines enqueue each run exactly once."""

from django.db import models


class ScheduledRun(models.Model):
    """A due time of a schedule entry, and the task enqueued for it."""

    name = models.CharField(max_length=100, help_text="The entry's name in RAPPORT_SCHEDULE")
    task_path = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    enqueued_at = models.DateTimeField()
    task_result_id = models.CharField(max_length=64, blank=True)
    worker_id = models.CharField(max_length=64, blank=True, help_text="The worker that enqueued")

    class Meta:
        ordering = ["-due_at", "name"]
        verbose_name = "scheduled run"
        constraints = [
            models.UniqueConstraint(fields=["name", "due_at"], name="scheduled_run_once")
        ]
        indexes = [models.Index(fields=["task_result_id"], name="scheduled_run_result_idx")]

    def __str__(self) -> str:
        return f"{self.name} due {self.due_at.isoformat(timespec='seconds')}"
