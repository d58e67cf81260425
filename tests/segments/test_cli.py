"""`rapport segments`: the list with counts, --refresh, and export NAME FILE.csv."""

import io

import pytest
from django.core.management import CommandError, call_command

from rapport.customers.services import TagService
from rapport.events.models import OutboxEvent

pytestmark = pytest.mark.django_db

VIP = {"field": "tags", "operator": "contains", "value": "VIP"}


@pytest.fixture
def vips(actor, make_customer, make_segment):
    for code in ("ADA", "BEN"):
        make_customer(code=code, first_name=code.title())
        TagService.add_tags(actor=actor, code=code, names=["VIP"])
    return make_segment(VIP, name="VIPs")


def run(*args) -> str:
    out = io.StringIO()
    call_command("segments", *args, stdout=out)
    return out.getvalue()


def test_the_list_shows_each_segment_with_its_count(vips):
    lines = run().splitlines()

    assert lines[0].split() == ["name", "key", "type", "members", "counted", "active", "conditions"]
    [row] = [line for line in lines if line.startswith("VIPs ")]
    assert row.split()[:4] == ["VIPs", "vips", "dynamic", "2"]
    assert row.endswith("tags contains VIP")
    assert len(lines) == 1 + 9  # the eight defaults and this one


def test_refresh_brings_every_dynamic_segment_up_to_date(actor, vips, make_customer):
    make_customer(code="CHI")
    TagService.add_tags(actor=actor, code="CHI", names=["VIP"])
    before = OutboxEvent.objects.filter(type="customer.segment_changed").count()

    output = run("--refresh")

    # CHI entered the VIPs; the three customers entered New Customers
    assert output.splitlines()[0] == "Refreshed 9 segments: 4 entered, 0 left."
    [row] = [line for line in output.splitlines() if line.startswith("VIPs ")]
    assert row.split()[3] == "3"
    assert OutboxEvent.objects.filter(type="customer.segment_changed").count() == before + 4
    assert run("--refresh").splitlines()[0] == "Refreshed 9 segments: 0 entered, 0 left."


def test_export_writes_the_segments_customers(vips, tmp_path):
    target = tmp_path / "vips.csv"

    output = run("export", "vips", str(target))
    by_name = run("export", "VIPS", "-")

    assert output.strip() == f"Exported 2 customers of VIPs to {target}"
    text = target.read_text(encoding="utf-8").lstrip("\ufeff")
    assert [line.split(",")[0] for line in text.splitlines()] == ["code", "ADA", "BEN"]
    assert by_name.lstrip("\ufeff").splitlines()[1:] == text.splitlines()[1:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "nope", "x.csv"], "No segment named 'nope'"),
        (["export", "vips"], "Usage: rapport segments export NAME FILE.csv"),
        (["list", "vips"], "only to export"),
        (["--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
    ],
)
def test_bad_arguments_are_one_line_errors(vips, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
