"""Who is acting: the identity every service write records."""

from dataclasses import dataclass

from rapport.exceptions import PermissionDenied
from rapport.tenancy.models import ApiKey, Scope, Tenant


@dataclass(frozen=True)
class Actor:
    """The person or program behind a change, within one tenant."""

    tenant: Tenant
    api_key: ApiKey | None = None
    user: object | None = None  # the Django user, when a person acts
    system: str = ""  # a named process: "demo", "import", "worker"

    @property
    def is_admin(self) -> bool:
        if self.user is not None and getattr(self.user, "is_superuser", False):
            return True
        return self.api_key is not None and self.api_key.has_scope(Scope.ADMIN)

    @property
    def is_operator(self) -> bool:
        """An admin, or a system process (the CLI, a worker) run by whoever runs rapport."""
        return self.is_admin or (self.user is None and self.api_key is None)

    def require_operator(self, what: str) -> None:
        """PermissionDenied unless an admin or a system process acts: `what` is what it tried."""
        if not self.is_operator:
            raise PermissionDenied(f"Only an admin may {what}")

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def label(self) -> str:
        """A short, readable name for timelines and audit entries."""
        if self.user is not None:
            return f"user:{self.user.get_username()}"
        if self.api_key is not None:
            return f"api_key:{self.api_key.name}"
        return f"system:{self.system or 'rapport'}"

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> "Actor":
        return cls(tenant=api_key.tenant, api_key=api_key, user=api_key.user)

    @classmethod
    def for_system(cls, tenant: Tenant, name: str) -> "Actor":
        return cls(tenant=tenant, system=name)
