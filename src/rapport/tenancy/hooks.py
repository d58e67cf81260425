"""How tenancy tells the apps built on it that a tenant was created, without importing them.

An app registers a listener in its `AppConfig.ready()` (segments gives every new tenant its
default segments). Listeners run inside the transaction that creates the tenant, so a tenant
never exists without what they add; a listener that raises undoes the creation.
"""

from collections.abc import Callable

from rapport.tenancy.models import Tenant

Listener = Callable[[Tenant], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> Listener:
    """Add a listener once (registering the same function twice keeps one)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def tenant_created(tenant: Tenant) -> None:
    for listener in _listeners:
        listener(tenant)
