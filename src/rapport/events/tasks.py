"""Background tasks of event delivery; the worker's schedule runs both every few seconds."""

from django_tasks import task

from rapport.events import dispatch


@task()
def dispatch_outbox() -> int:
    """Move waiting outbox events to webhook deliveries (and the broker); how many moved."""
    return dispatch.dispatch_outbox()


@task()
def deliver_webhooks() -> dict[str, int]:
    """Send the webhook deliveries that are due; what came of them."""
    run = dispatch.deliver_due()
    return {
        "claimed": run.claimed,
        "delivered": run.delivered,
        "retrying": run.retrying,
        "dead": run.dead,
        "disabled": run.disabled,
        "released": run.released,
    }
