from rapport.identity.models import CustomerIdentifier, IdentifierType


def test_add_list_patch_and_remove_identifiers(api, make_customer):
    ada = make_customer(first_name="Ada")
    url = f"/customers/{ada.code}/identifiers"

    first = api.post(url, {"type": "whatsapp", "value": "0803 123 4567", "source": "whatsapp"})
    second = api.post(url, {"type": "whatsapp", "value": "0803 123 4568"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["value"] == "+2348031234567"
    assert first.json()["is_primary"] is True

    patched = api.patch(f"{url}/{second.json()['id']}", {"is_primary": True})
    assert patched.status_code == 200
    assert patched.json()["is_primary"] is True

    listed = api.get(url).json()
    assert [(row["value"], row["is_primary"]) for row in listed] == [
        ("+2348031234568", True),
        ("+2348031234567", False),
    ]

    assert api.delete(f"{url}/{second.json()['id']}").status_code == 204
    assert [row["is_primary"] for row in api.get(url).json()] == [True]


def test_unsetting_the_only_primary_is_refused(api, make_customer):
    ada = make_customer(first_name="Ada")
    created = api.post(f"/customers/{ada.code}/identifiers", {"type": "email", "value": "a@b.co"})

    response = api.patch(
        f"/customers/{ada.code}/identifiers/{created.json()['id']}", {"is_primary": False}
    )

    assert response.status_code == 422
    assert "is_primary" in response.json()["error"]["fields"]


def test_a_taken_value_is_409_naming_the_customer(api, make_customer):
    ada, bola = make_customer(first_name="Ada"), make_customer(first_name="Bola")
    api.post(f"/customers/{ada.code}/identifiers", {"type": "instagram", "value": "@ada"})

    response = api.post(
        f"/customers/{bola.code}/identifiers",
        {"type": "instagram", "value": "https://instagram.com/Ada"},
    )

    assert response.status_code == 409
    assert ada.code in response.json()["error"]["fields"]["value"]


def test_bad_input_is_422_naming_the_field_and_writes_nothing(api, make_customer):
    ada = make_customer(first_name="Ada")
    url = f"/customers/{ada.code}/identifiers"

    for body, field in (
        ({"type": "phone", "value": "call me"}, "value"),
        ({"type": "myspace", "value": "ada"}, "type"),
        ({"type": "phone", "value": "08031234567", "colour": "red"}, "colour"),
    ):
        response = api.post(url, body)
        assert response.status_code == 422
        assert field in response.json()["error"]["fields"]
    assert not CustomerIdentifier.objects.exists()


def test_lookup_finds_the_customer_or_404(api, make_customer):
    ada = make_customer(first_name="Ada")
    api.post(f"/customers/{ada.code}/identifiers", {"type": "telegram", "value": "@ada_obi"})

    found = api.get("/identifiers/lookup", {"type": "telegram", "value": "t.me/Ada_Obi"})
    missing = api.get("/identifiers/lookup", {"type": "telegram", "value": "@nobody"})
    bad = api.get("/identifiers/lookup", {"type": "phone", "value": "nope"})

    assert (found.status_code, found.json()["code"]) == (200, ada.code)
    assert missing.status_code == 404
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (422, ["value"])


def test_find_or_create_is_201_then_200(api):
    body = {
        "type": "phone",
        "value": "0803 999 0000",
        "defaults": {"first_name": "Chidi"},
        "source": "pos",
    }

    created = api.post("/identifiers/find-or-create", body)
    found = api.post("/identifiers/find-or-create", {**body, "value": "+2348039990000"})

    assert (created.status_code, created.json()["created"]) == (201, True)
    assert (found.status_code, found.json()["created"]) == (200, False)
    assert created.json()["customer"]["code"] == found.json()["customer"]["code"]
    assert created.json()["customer"]["first_name"] == "Chidi"


def test_find_or_create_with_bad_defaults_is_422(api):
    response = api.post(
        "/identifiers/find-or-create",
        {"type": "phone", "value": "08039990001", "defaults": {"shoe_size": 9}},
    )
    assert response.status_code == 422
    assert "shoe_size" in response.json()["error"]["fields"]


def test_identifier_types_need_admin_to_change(api, admin_api, read_api):
    body = {"name": "loyalty_card", "label": "Loyalty card", "normalization": "text"}

    assert api.post("/identifier-types", body).status_code == 403
    created = admin_api.post("/identifier-types", body)
    assert created.status_code == 201
    assert [row["name"] for row in read_api.get("/identifier-types").json()] == ["loyalty_card"]
    assert admin_api.post("/identifier-types", body).status_code == 409
    assert admin_api.post("/identifier-types", {"name": "email"}).status_code == 422

    assert api.delete(f"/identifier-types/{created.json()['id']}").status_code == 403
    assert admin_api.delete(f"/identifier-types/{created.json()['id']}").status_code == 204
    assert not IdentifierType.objects.exists()


def test_another_tenant_sees_none_of_it(api, other_api, make_customer):
    ada = make_customer(first_name="Ada")
    created = api.post(f"/customers/{ada.code}/identifiers", {"type": "manychat", "value": "9"})
    url = f"/customers/{ada.code}/identifiers/{created.json()['id']}"

    assert other_api.get(f"/customers/{ada.code}/identifiers").status_code == 404
    assert other_api.patch(url, {"is_primary": True}).status_code == 404
    assert other_api.delete(url).status_code == 404
    assert (
        other_api.get("/identifiers/lookup", {"type": "manychat", "value": "9"}).status_code == 404
    )
    assert CustomerIdentifier.objects.count() == 1


def test_duplicates_list_and_per_customer(api, read_api, make_customer):
    ada = make_customer(first_name="Ada", last_name="Obi", phone="08031234567")
    twin = make_customer(first_name="Ada", last_name="Obie", phone="08031234567")
    make_customer(first_name="Bola", last_name="Ade")

    listed = read_api.get("/duplicates", {"min_score": 0.5, "limit": 10})
    mine = read_api.get(f"/customers/{twin.code}/duplicates")

    assert listed.status_code == 200
    [pair] = listed.json()["items"]
    assert {pair["first"]["code"], pair["second"]["code"]} == {ada.code, twin.code}
    assert pair["can_merge"] is True
    assert pair["reasons"][0] == "Same phone +2348031234567"
    assert [item["score"] for item in mine.json()["items"]] == [pair["score"]]
    assert read_api.get("/duplicates", {"min_score": 3}).status_code == 422
    assert read_api.get("/customers/NOPE/duplicates").status_code == 404
