import pytest

from rapport.customers.normalization import (
    is_plain_json,
    normalize_email,
    normalize_instagram_handle,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0803 123 4567", "NG", "+2348031234567"),
        ("08031234567", "NG", "+2348031234567"),
        ("803-123-4567", "NG", "+2348031234567"),
        ("+234 (0) 803 123 4567", "NG", "+2348031234567"),
        ("  0803 123 4567  ", "ng", "+2348031234567"),
        ("00 234 803 123 4567", "NG", "+2348031234567"),
        ("002348031234567", "BR", "+2348031234567"),
        ("(11) 91234-5678", "BR", "+5511912345678"),
        ("11 91234 5678", "BR", "+5511912345678"),
        ("+55 11 91234-5678", "NG", "+5511912345678"),
        ("0055 11 91234 5678", "NG", "+5511912345678"),
        ("55 1234 5678", "MX", "+525512345678"),
        ("(55) 1234-5678", "MX", "+525512345678"),
        ("+52 55 1234 5678", "BR", "+525512345678"),
        ("0052 55 1234 5678", "MX", "+525512345678"),
    ],
)
def test_normalize_phone(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", "NG"),
        ("call me", "NG"),
        ("12345", "NG"),
        ("0803 123 456", "NG"),
        ("+999 803 123 4567", "NG"),
        ("0803 123 4567", ""),
        ("11 91234-5678", "NG"),
    ],
)
def test_normalize_phone_rejects_what_is_not_a_valid_number(raw, region):
    with pytest.raises(ValueError, match="phone number"):
        normalize_phone(raw, region)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Obi@Example.COM ", "ada.obi@example.com"),
        ("ada+shop@sub.example.ng", "ada+shop@sub.example.ng"),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@@example.com", "a b@c.d"])
def test_normalize_email_rejects_what_is_not_an_address(raw):
    with pytest.raises(ValueError, match="is not an email address"):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada.obi", "ada.obi"),
        ("@Ada_Obi", "ada_obi"),
        ("  @ada  ", "ada"),
        ("https://www.instagram.com/Ada.Obi/", "ada.obi"),
        ("http://instagram.com/ada_obi?igsh=abc123", "ada_obi"),
        ("instagram.com/ada#top", "ada"),
        ("www.instagram.com/@ada", "ada"),
        ("a" * 30, "a" * 30),
    ],
)
def test_normalize_instagram_handle(raw, expected):
    assert normalize_instagram_handle(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "@", "ada obi", "ada!", "a" * 31, "https://instagram.com/", "@ada/extra"]
)
def test_normalize_instagram_handle_rejects_what_is_not_a_handle(raw):
    with pytest.raises(ValueError, match="is not an Instagram handle"):
        normalize_instagram_handle(raw)


@pytest.mark.parametrize(
    "value",
    [{}, {"a": [1, 2.5, -1e18, 2**63 - 1, None, True, "x"]}, {"tiny": 1.1754943508222875e-38}],
)
def test_is_plain_json_accepts_what_renders_again(value):
    assert is_plain_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {"nan": float("nan")},
        {"big": 2**64},
        # PostgreSQL's jsonb writes these out in full digits: they come back as huge integers.
        {"big": 1e20},
        {"deep": [[{"big": -2.0163628718743923e228}]]},
    ],
)
def test_is_plain_json_refuses_what_would_not_render_again(value):
    assert not is_plain_json(value)
