"""Time zone names are looked up safely: unknown, malformed and absurdly
long names are no zone, never an exception (a 35,000-character name sent
ZoneInfo into a RecursionError: JOC answered 420 InternalError)."""

import pytest

from components.common.zones import zone


@pytest.mark.parametrize("name", ["Etc/UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_iana_names_are_found(name):
    assert zone(name) is not None and str(zone(name)) == name


@pytest.mark.parametrize(
    "name",
    ["Etc/UTC" * 5000, "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "", 7, None, "a b"],
)
def test_anything_else_is_no_zone(name):
    assert zone(name) is None
