def test_create_and_fetch_a_phone_only_customer(api):
    created = api.post("/customers", {"phone": "0803 123 4567"})
    assert created.status_code == 201
    assert created.json()["phone"] == "+2348031234567"
    fetched = api.get(f"/customers/{created.json()['code']}")
    assert fetched.json()["code"] == created.json()["code"]
