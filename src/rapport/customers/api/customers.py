"""Customers: list, create, read, change, archive, delete; and referrals."""

from ninja import Query, Router, Status

from rapport.customers import selectors
from rapport.customers.api.schemas import (
    CustomerDetailOut,
    CustomerIn,
    CustomerPage,
    CustomerPatch,
    CustomerQuery,
    ReferrerOut,
)
from rapport.customers.models import Customer
from rapport.customers.services import CustomerService
from rapport.exceptions import NotFound
from rapport.pagination import DATETIME, TEXT, paginate, sort_order
from rapport.schemas import WRITE_ERRORS, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["customers"], auth=READ)

CUSTOMER_SORTS = {"created_at": DATETIME, "updated_at": DATETIME, "last_name": TEXT, "code": TEXT}


def customer_of(request, code: str) -> Customer:
    """The request's tenant's customer with this code, or NotFound."""
    return CustomerService.get_customer(tenant=actor_of(request).tenant, code=code)


def _detail(request, code: str) -> Customer:
    customer = selectors.customer_detail(tenant=actor_of(request).tenant, code=code)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


@router.get("/customers", response=responses({200: CustomerPage}))
def list_customers(request, query: Query[CustomerQuery]):
    """Customers, filtered and sorted, a page at a time (follow `next_cursor`)."""
    filters = selectors.CustomerFilters(
        **query.model_dump(exclude={"limit", "cursor", "order_by", "archived"}),
        is_archived=query.archived,
    )
    customers = selectors.customer_list(tenant=actor_of(request).tenant, filters=filters)
    return paginate(
        customers,
        ordering=sort_order(query.order_by, CUSTOMER_SORTS),
        parsers=CUSTOMER_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post("/customers", response=responses({201: CustomerDetailOut}, *WRITE_ERRORS), auth=WRITE)
def create_customer(request, payload: CustomerIn):
    """Create a customer. A phone number alone is enough; it is stored in E.164."""
    fields = payload.model_dump(exclude_unset=True)
    customer = CustomerService.create_customer(actor=actor_of(request), **fields)
    return Status(201, _detail(request, customer.code))


@router.get("/customers/{code}", response=responses({200: CustomerDetailOut}, 404))
def get_customer(request, code: str):
    """One customer with tags, addresses, contact points and external identities."""
    return _detail(request, code)


@router.patch(
    "/customers/{code}", response=responses({200: CustomerDetailOut}, 400, 404), auth=WRITE
)
def update_customer(request, code: str, payload: CustomerPatch):
    """Change some fields; only the fields sent change."""
    CustomerService.update_customer(
        actor=actor_of(request), code=code, **payload.model_dump(exclude_unset=True)
    )
    return _detail(request, code)


@router.post(
    "/customers/{code}/archive",
    response=responses({200: CustomerDetailOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def archive_customer(request, code: str):
    """Archive a customer: hidden from lists and campaigns, history kept."""
    CustomerService.archive_customer(actor=actor_of(request), code=code)
    return _detail(request, code)


@router.post(
    "/customers/{code}/restore",
    response=responses({200: CustomerDetailOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def restore_customer(request, code: str):
    """Bring an archived customer back."""
    CustomerService.archive_customer(actor=actor_of(request), code=code, is_archived=False)
    return _detail(request, code)


@router.delete("/customers/{code}", response=responses({204: None}, 404), auth=WRITE)
def delete_customer(request, code: str):
    """Delete a customer and everything attached to them. Archive instead to keep history."""
    CustomerService.delete_customer(actor=actor_of(request), code=code)
    return Status(204, None)


@router.get("/customers/{code}/referrals", response=responses({200: CustomerPage}, 404))
def list_referrals(request, code: str, query: Query[PageQuery]):
    """The customers this customer referred, newest first."""
    referred = selectors.referrals_of(customer=customer_of(request, code))
    return paginate(
        referred,
        ordering=["-created_at"],
        parsers=CUSTOMER_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/referrals/top", response=responses({200: list[ReferrerOut]}))
def top_referrers(request, limit: int = Query(10, ge=1, le=100)):
    """The customers who referred the most others, with their counts."""
    return list(selectors.top_referrers(tenant=actor_of(request).tenant, limit=limit))
