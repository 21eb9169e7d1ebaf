"""JOC's global settings (``settings``, ``settings/store``) and the Cleanup
Service that runs with them: JOC's entry names, defaults and durations, the
document kept as the client wrote it, bad documents refused naming the entry
(and nothing stored), and a stored retention applied by the next run."""

import asyncio
import datetime as dt
import json
import time
from typing import Any

import pytest

from components.common.web import Problem
from components.joc import config
from components.joc.settings import (
    CLEANUP_DEFAULTS,
    age_seconds,
    checked_document,
    cleanup_settings,
    format_age,
)
from tests.joc.jocapi import login, problem, write_conf

DAY = 86400.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90d", 90 * DAY),
        ("90", 90 * DAY),  # JOC: a bare number counts days
        ("1w 2d 3h 4m", 9 * DAY + 3 * 3600 + 4 * 60),
        ("  12H  ", 12 * 3600),
        ("5s", 5),  # js7ha: JOC ignores seconds
        ("0", 0),
    ],
)
def test_ages_are_jocs_durations(text, seconds):
    assert age_seconds(text, "order_history_age") == seconds


@pytest.mark.parametrize("text", ["", "ninety", "5x", "-1d", "1.5d", "d"])
def test_a_bad_age_names_its_entry(text):
    with pytest.raises(Problem) as p:
        age_seconds(text, "order_history_age")
    assert "cleanup.order_history_age" in p.value.message


@pytest.mark.parametrize(("seconds", "text"), [(90 * DAY, "90d"), (7200, "2h"), (90, "90s")])
def test_configured_ages_are_written_as_durations(seconds, text):
    assert format_age(seconds) == text
    assert age_seconds(text, "x") == seconds


def test_an_empty_document_means_jocs_defaults():
    s = cleanup_settings({})
    assert (s.order_history_age, s.order_log_age, s.daily_plan_history_age) == (
        90 * DAY,
        90 * DAY,
        30 * DAY,
    )
    assert (s.begin, s.end, s.batch_size, str(s.time_zone)) == ("01:00:00", "04:00:00", 1000, "UTC")
    assert s.weekdays == frozenset(range(1, 8))
    assert CLEANUP_DEFAULTS["order_history_age"] == "90d"


def test_a_log_retention_longer_than_the_orders_is_cut_to_it_and_0_keeps_for_ever():
    s = cleanup_settings(
        {
            "cleanup": {
                "order_history_age": {"value": "2d"},
                "order_history_logs_age": {"value": "5d"},
            }
        }
    )
    assert s.order_log_age == 2 * DAY
    s = cleanup_settings({"cleanup": {"order_history_age": {"value": "0"}}})
    assert (s.order_history_age, s.order_log_age) == (0, 90 * DAY)


def test_the_window_is_in_its_time_zone_on_its_weekdays_and_may_wrap_midnight():
    s = cleanup_settings(
        {
            "cleanup": {
                "time_zone": {"value": "Europe/Berlin"},
                "period": {"value": "1,2,3,4,5"},  # Monday to Friday
                "period_begin": {"value": "22:00"},
                "period_end": {"value": "02:00"},
            }
        }
    )
    berlin = dt.timezone(dt.timedelta(hours=1))  # (winter: CET)
    monday = dt.datetime(2026, 12, 7, tzinfo=berlin)
    assert s.in_window(monday.replace(hour=23))
    assert s.in_window((monday + dt.timedelta(days=1)).replace(hour=1))  # Monday's window
    assert not s.in_window(monday.replace(hour=12))
    assert not s.in_window(monday.replace(hour=1))  # Sunday's window: no Sunday
    assert not s.in_window((monday + dt.timedelta(days=5)).replace(hour=23))  # Saturday
    assert s.in_window(monday.replace(hour=22).astimezone(dt.UTC))  # 21:00 UTC


@pytest.mark.parametrize(
    ("item", "named"),
    [
        (None, "configurationItem"),
        ("{not json", "configurationItem"),
        ("[1]", "configurationItem"),
        ('{"cleanup": 1}', "configurationItem"),
        ('{"cleanup": {"batch_size": 7}}', "cleanup.batch_size"),
        ('{"cleanup": {"batch_size": {"value": "0"}}}', "cleanup.batch_size"),
        ('{"cleanup": {"order_history_age": {"value": "soon"}}}', "cleanup.order_history_age"),
        ('{"cleanup": {"period_end": {"value": "25:00"}}}', "cleanup.period_end"),
        ('{"cleanup": {"period": {"value": "0,8"}}}', "cleanup.period"),
        ('{"cleanup": {"time_zone": {"value": "Mars/Olympus"}}}', "cleanup.time_zone"),
    ],
)
def test_a_document_the_cleanup_cannot_read_is_refused_naming_the_entry(item, named):
    with pytest.raises(Problem) as p:
        checked_document(item)
    assert named in p.value.message


def test_other_sections_are_kept_as_they_are():
    text = '{"joc": {"x": {"value": "y"}}, "user": {}}'
    assert checked_document(text) == text


def test_a_fractional_configured_age_stops_the_instance_naming_it(tmp_path):
    write_conf(tmp_path, "postgresql://127.0.0.1:9/x", **{"joc.cleanup.order-log-age": 2.5})
    with pytest.raises(config.ConfigProblem) as p:
        config.load(tmp_path)
    assert "joc.cleanup.order-log-age" in str(p.value)


@pytest.fixture
def joc_conf() -> dict[str, Any]:
    return {"joc.cleanup.order-history-age": 3600, "joc.cleanup.batch-size": 7}


async def _settings(api, token) -> dict[str, Any]:
    r = await api.post("/joc/api/settings", headers=token)  # (JOC's client sends no body)
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["deliveryDate"]
    configuration: dict[str, Any] = body["configuration"]
    return configuration


async def _cleanup_run(api, token) -> dict[str, Any]:
    """A run once the instance is active (a standby refuses)."""
    deadline = time.monotonic() + 10
    while True:
        r = await api.post("/joc/api/cleanup/run", json={}, headers=token)
        body: dict[str, Any] = await r.json()
        if r.status == 200 or time.monotonic() > deadline:
            assert r.status == 200, body
            return body
        assert body["error"]["code"] == "JocStandby", body
        await asyncio.sleep(0.1)


async def test_the_first_instance_stores_its_configuration_and_a_store_replaces_it(api):
    token = await login(api)
    cfg = await _settings(api, token)
    assert (cfg["configurationType"], cfg["account"], cfg["controllerId"]) == ("GLOBALS", ".", ".")
    cleanup = json.loads(cfg["configurationItem"])["cleanup"]
    values = {k: v["value"] for k, v in cleanup.items() if k != "ordering"}
    assert values["order_history_age"] == "1h" and values["batch_size"] == "7"
    assert values["order_history_logs_age"] == "90d" and values["period_begin"] == "01:00"
    run = await _cleanup_run(api, token)
    cut = dt.datetime.fromisoformat(run["orderHistoryCutoff"])
    assert abs((dt.datetime.now(dt.UTC) - cut).total_seconds() - 3600) < 60

    text = '{"cleanup":{"order_history_age":{"value":"0"}},"user":{"theme":{"value":"x"}}}'
    r = await api.post("/joc/api/settings/store", json={"configurationItem": text}, headers=token)
    assert r.status == 200 and (await r.json())["ok"] is True
    assert (await _settings(api, token))["configurationItem"] == text  # as written
    run = await _cleanup_run(api, token)
    assert run["orderHistoryCutoff"] is None  # 0: kept for ever
    assert dt.datetime.fromisoformat(run["orderLogCutoff"]) < cut  # the default 90d again


async def test_a_bad_or_unpermitted_store_changes_nothing(api):
    token = await login(api)
    before = (await _settings(api, token))["configurationItem"]
    bad = '{"cleanup":{"order_history_age":{"value":"soon"}}}'
    r = await api.post("/joc/api/settings/store", json={"configurationItem": bad}, headers=token)
    body = await problem(r, 400, "InvalidField")
    assert "cleanup.order_history_age" in body["error"]["message"]
    await problem(await api.post("/joc/api/settings/store", json={}, headers=token), 400)
    viewer = await login(api, "viewer")
    ok = '{"cleanup":{}}'
    r = await api.post("/joc/api/settings/store", json={"configurationItem": ok}, headers=viewer)
    await problem(r, 403)
    assert (await _settings(api, viewer))["configurationItem"] == before
