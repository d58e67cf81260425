"""`rapport check`: schedule entries that cannot be read, or whose task cannot be found."""

from django.core.checks import Error, Warning, register

from rapport.jobs import schedule


@register()
def schedule_entries(app_configs, **kwargs):
    entries, problems = schedule.read()
    messages = [
        Error(
            problem,
            hint='Write {"task": "dotted.path", "every": seconds} or '
            '{"task": "dotted.path", "daily_at": "HH:MM"} (see docs/jobs.md).',
            id="rapport.jobs.E001",
        )
        for problem in problems
    ]
    for entry in entries:
        if entry.is_skipped():
            continue
        try:
            entry.task()
        except schedule.TaskUnavailable as error:
            messages.append(
                Warning(
                    f"Schedule entry {entry.name!r} will not run: {error}.",
                    hint="Fix its 'task' in RAPPORT_SCHEDULE, or remove the entry. Workers "
                    "skip it and go on with the others.",
                    id="rapport.jobs.W001",
                )
            )
    return messages
