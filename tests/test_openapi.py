"""The OpenAPI document: served, complete, and honest about what each operation can answer."""

import re

import pytest

from rapport.api import api as rapport_api

SCHEMA = rapport_api.get_openapi_schema()
OPERATIONS = [
    pytest.param(method, path, operation, id=f"{method.upper()} {path}")
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
]
POSTS = [param for param in OPERATIONS if param.values[0] == "post"]
WITH_BODY = [param for param in OPERATIONS if "requestBody" in param.values[2]]
# Reached from links sent to customers, who have no API key: the signed token is the credential.
PUBLIC_OPERATIONS = {
    ("post", "/api/v1/consent/confirm"),
    ("post", "/api/v1/consent/unsubscribe"),
}


def resolve(reference: str) -> dict:
    assert reference.startswith("#/components/schemas/")
    return SCHEMA["components"]["schemas"][reference.rsplit("/", 1)[1]]


def test_the_schema_is_served_without_a_key(anonymous_api):
    response = anonymous_api.get("/api/openapi.json")

    assert response.status_code == 200
    served = response.json()
    assert served["info"]["title"] == "rapport"
    assert set(served["paths"]) == set(SCHEMA["paths"])
    assert served["components"]["securitySchemes"]
    create = served["paths"]["/api/v1/customers"]["post"]
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]


def test_the_docs_page_is_served(anonymous_api):
    response = anonymous_api.get("/api/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "swagger" in response.content.decode().lower()


def test_every_route_is_under_v1():
    assert len(OPERATIONS) >= 30
    assert all(path.startswith("/api/v1/") for path in SCHEMA["paths"])


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_operation_declares_its_error_statuses(method, path, operation):
    declared = {int(status) for status in operation["responses"]}
    expected = {401, 403, 422}
    if "{" in path:
        expected.add(404)
    if method == "post":
        expected |= {400, 409}
    if "requestBody" in operation:
        expected.add(400)

    assert expected <= declared, sorted(expected - declared)
    assert any(200 <= status < 300 for status in declared)
    for status, response in operation["responses"].items():
        if int(status) >= 400:
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_operation_is_described_and_authenticated(method, path, operation):
    description = operation.get("description", "")

    assert description.strip(), "give the endpoint a docstring"
    assert description.strip().endswith(".")
    if (method, path) in PUBLIC_OPERATIONS:
        assert "security" not in operation
    else:
        assert operation["security"] == [{"ApiKeyAuth": []}]
    assert operation["tags"]
    assert re.fullmatch(r"[a-z_]+", operation["operationId"])


@pytest.mark.parametrize(("method", "path", "operation"), POSTS)
def test_every_post_documents_the_idempotency_key(method, path, operation):
    [header] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]

    assert header["in"] == "header"
    assert header["required"] is False
    # The middleware refuses an empty or blank key with 400, so the schema says so.
    assert header["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": r"\S",
    }
    assert header["description"]


def test_the_idempotency_key_is_documented_once_per_post():
    again = rapport_api.get_openapi_schema()
    for operations in again["paths"].values():
        if "post" in operations:
            names = [p["name"] for p in operations["post"]["parameters"]]
            assert names.count("Idempotency-Key") == 1


@pytest.mark.parametrize(("method", "path", "operation"), WITH_BODY)
def test_input_schemas_forbid_unknown_fields(method, path, operation):
    content = operation["requestBody"]["content"]
    if "application/json" not in content:  # a file upload: its form fields are listed
        assert content["multipart/form-data"]["schema"]["additionalProperties"] is False
        return
    content = content["application/json"]
    # A body of several shapes (inbound events, by type) lists each under oneOf.
    for reference in content["schema"].get("oneOf", [content["schema"]]):
        schema = resolve(reference["$ref"])

        assert schema.get("additionalProperties") is False, schema.get("title")
        assert schema["title"].endswith(("In", "Patch"))


def test_the_error_body_is_documented():
    error = SCHEMA["components"]["schemas"]["ErrorOut"]
    detail = resolve(error["properties"]["error"]["$ref"])

    assert error["required"] == ["error"]
    assert set(detail["properties"]) == {"code", "message", "fields"}


def test_operation_ids_are_the_view_names_and_unique():
    ids = [
        operation["operationId"]
        for operations in SCHEMA["paths"].values()
        for operation in operations.values()
    ]
    assert len(ids) == len(set(ids))
    assert "list_customers" in ids
    assert "create_customer" in ids


def test_schema_names_are_unique():
    """The document names each component by its class: two classes of one name would hide one."""
    from ninja import Schema

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [cls for cls in subclasses(Schema) if cls.__module__.startswith("rapport.")]
    names = [cls.__name__ for cls in ours]
    assert len(ours) > 30
    assert sorted({name for name in names if names.count(name) > 1}) == []
