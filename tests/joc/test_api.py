"""The JOC REST API's door: 401 without a session, 403 without the
permission, 400 problems for bad input — always a JSON problem, never a
traceback — and config errors that stop the instance naming the setting."""

import json
import subprocess
import sys

import pytest

from components.joc import config
from harness.profiles import REFERENCE
from harness.topology import Database, Link, Node, Topology
from tests.joc.jocapi import basic, login, problem, write_conf


async def test_unauthenticated_requests_get_401(api):
    await problem(await api.post("/joc/api/orders/history", json={}), 401, "Unauthenticated")
    await problem(
        await api.post("/joc/api/orders/history", json={}, headers={"X-Access-Token": "nope"}),
        401,
        "Unauthenticated",
    )
    await problem(await api.post("/joc/api/authentication/login"), 401)
    await problem(await api.post("/joc/api/authentication/login", headers=basic("root", "x")), 401)
    await problem(
        await api.post("/joc/api/authentication/login", headers={"Authorization": "Basic %%%"}),
        401,
    )
    token = await login(api)
    r = await api.post("/joc/api/authentication/logout", headers=token)
    assert r.status == 200
    await problem(await api.post("/joc/api/orders/history", json={}, headers=token), 401)


async def test_unauthorised_requests_get_403(api):
    viewer = await login(api, "viewer")
    for path, body in [
        ("orders/add", {"orders": [{"workflowPath": "w"}]}),
        ("joc/cluster/switch_member", {"memberId": "x"}),
        ("controller/cluster/switchover", {}),
        ("inventory/deployment/deploy", {"workflows": [{}]}),
        ("cleanup/run", {}),
        ("daily_plan/orders/generate", {"dailyPlanDate": "2024-01-01"}),
    ]:
        await problem(await api.post(f"/joc/api/{path}", json=body, headers=viewer), 403)
    r = await api.post("/joc/api/orders/history", json={}, headers=viewer)
    assert r.status == 200


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("orders/history", b"{not json", "InvalidJson"),
        ("orders/history", b"[1,2]", "InvalidJson"),
        ("orders/history", {"dateFrom": "yesterday-ish"}, "InvalidField"),
        ("orders/history", {"limit": "ten"}, "InvalidField"),
        ("orders/history", {"historyStates": ["GREAT"]}, "InvalidField"),
        ("orders/history", {"controllerId": "other"}, "UnknownController"),
        ("tasks/history", {"orderIds": "o1"}, "InvalidField"),
        ("orders/add", {}, "InvalidField"),
        ("orders/add", {"orders": [{"orderName": "x"}]}, "InvalidField"),
        (
            "orders/add",
            {"orders": [{"workflowPath": "w", "scheduledFor": "someday"}]},
            "InvalidField",
        ),
        ("orders/add", {"orders": [{"workflowPath": "w", "arguments": [1]}]}, "InvalidField"),
        ("order/log", {"historyId": "1"}, "InvalidField"),
        ("joc/cluster/switch_member", {}, "InvalidField"),
        ("joc/cluster/switch_member", {"memberId": "nobody"}, "UnknownMember"),
        ("daily_plan/orders/generate", {"dailyPlanDate": "2024-13-01"}, "InvalidField"),
        (
            "daily_plan/orders/generate",
            {
                "dailyPlanDate": "2024-01-01",
                "schedules": [{"name": "s", "workflowPath": "w", "times": ["25:00"]}],
            },
            "InvalidField",
        ),
    ],
)
async def test_bad_input_is_refused_as_joc_does_420_naming_the_field(api, path, body, code):
    token = await login(api)
    if isinstance(body, bytes):
        r = await api.post(f"/joc/api/{path}", data=body, headers=token)
    else:
        r = await api.post(f"/joc/api/{path}", json=body, headers=token)
    await problem(r, 400, code)


async def test_unknown_history_id_is_404_and_openapi_is_served(api):
    token = await login(api)
    await problem(
        await api.post("/joc/api/order/log", json={"historyId": 42}, headers=token),
        404,
        "UnknownHistoryId",
    )
    r = await api.get("/joc/api/openapi.json")
    doc = await r.json()
    assert doc["openapi"].startswith("3.")
    assert "/joc/api/orders/history" in doc["paths"]
    assert "/joc/api/joc/cluster/switch_member" in doc["paths"]


async def test_an_unreachable_controller_is_a_420_error_naming_it(api):
    token = await login(api)
    r = await api.post(
        "/joc/api/orders/add", json={"orders": [{"workflowPath": "w"}]}, headers=token
    )
    await problem(r, 503, "ControllerUnreachable")


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"joc.cluster.member-id": None}, "joc.cluster.member-id"),
        ({"joc.database.url": "mysql://x"}, "joc.database.url"),
        (
            {"joc.cluster.heart-beat-exceeded-interval": 0.3},
            "joc.cluster.heart-beat-exceeded-interval",
        ),
        ({"joc.controllers": {}}, "joc.controllers"),
        ({"joc.cleanup.order-history-age": "ninety"}, "joc.cleanup.order-history-age"),
        ({"joc.cleanup.period.begin": "1am"}, "joc.cleanup.period.begin"),
    ],
)
def test_a_config_error_stops_the_instance_naming_the_setting(tmp_path, override, setting):
    write_conf(tmp_path, "postgresql://127.0.0.1:9/x", **override)
    if override.get("joc.cluster.member-id", "") is None:
        conf = json.loads((tmp_path / "config" / "joc.conf").read_text())
        del conf["joc"]["cluster"]["member-id"]
        (tmp_path / "config" / "joc.conf").write_text(json.dumps(conf))
    p = subprocess.run(
        [sys.executable, "-m", "components.joc", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 2, p.stderr
    assert setting in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_jocs_own_default_cluster_timing_is_accepted(tmp_path):
    """JOC's defaults (30 s polling, 60 s heart-beat-exceeded) start an instance:
    the js7-documented profile runs with them."""
    from components.joc import config

    write_conf(
        tmp_path,
        "postgresql://127.0.0.1:9/x",
        **{"joc.cluster.polling-interval": 30, "joc.cluster.heart-beat-exceeded-interval": 60},
    )
    cfg = config.load(tmp_path)
    assert (cfg.polling_interval, cfg.heart_beat_exceeded_interval) == (30.0, 60.0)


def test_the_spec_links_jocs_to_controllers_and_the_database(tmp_path):
    from harness.components import NodeContext
    from harness.specs.joc import SPEC

    topo = Topology.build(
        [Node("controller", "controller"), Node("joc-1", "joc", {"joc.cleanup.batch-size": 5})],
        [Link("joc-1", "controller")],
        Database(clients=("joc-1",)),
    )
    ctx = NodeContext(
        node=topo.node("joc-1"),
        topology=topo,
        profile=REFERENCE,
        data_dir=tmp_path,
        host="127.0.0.1",
        port=1234,
        peers={"controller": "127.0.0.1:5555"},
        database_url="postgresql://u@127.0.0.1:6666/db",
    )
    SPEC.write_config(ctx)
    cfg = config.load(tmp_path)
    assert cfg.member_id == "joc-1" and cfg.port == 1234
    assert [c.uri for c in cfg.controllers] == ["http://127.0.0.1:5555"]
    assert cfg.database_url.endswith(":6666/db")
    assert cfg.polling_interval == REFERENCE.components["joc.cluster.polling_interval"]
    assert cfg.cleanup_batch_size == 5
    assert cfg.cleanup_ages["order-history"] == 90 * 86400
