"""JS7's own Python client (``js7-client-python``, by the makers of JS7) as a
test oracle for the reference JOC: each operation it offers for what the
reference serves runs against a running topology, and the answer is checked
— not only that no exception came.

The client is synchronous; it runs in a worker thread so the harness's event
loop goes on.

Covered so far: login (with its mandatory ``joc/version``), Controller status
and components, JOC switch-over, Controller switch-over, running JOC's
cleanup and daily-plan services, reading and storing the global
settings, adding and reading orders, the order
history and an order's log, the task history and a task's log, the orders
overview, storing inventory drafts (workflow, schedule, calendar), releasing
and deploying them, the Daily Plan's generate, list and submit, JOC's error
answer for a bad request, logout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from harness.clients.joc import JocClient
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.specs.joc import ACCOUNTS
from suites.joc.support import (
    joc_and_controller_cluster,
    joc_cluster,
    wait_active,
    wait_one_active,
    workflow,
)

js7_client = pytest.importorskip("js7.client.client", reason="js7-client-python (a dev extra)")
from js7.model.configuration.auth_configuration import (  # noqa: E402
    AuthConfiguration,
    BasicAuth,
)
from js7.model.configuration.http_configuration import HTTPConfiguration  # noqa: E402
from js7.model.error.http.joc_exceptions import JocOperationFailed  # noqa: E402
from js7.model.public.client.common.configurations import (  # noqa: E402
    Configuration,
    DeployConfiguration,
    DraftConfiguration,
    ReleaseConfiguration,
)
from js7.model.public.client.enum.object_types import ObjectType  # noqa: E402
from js7.model.public.client.filter.daily_plan_order_filters import (  # noqa: E402
    DailyPlanOrdersFilter,
    DailyPlanSubmitOrderFilter,
)
from js7.model.public.client.filter.get_order_filter import GetOrderFilter  # noqa: E402
from js7.model.public.client.filter.order_history_filter import (  # noqa: E402
    OrderHistoryFilter,
)
from js7.model.public.client.filter.tasks_filter import TasksFilter  # noqa: E402
from js7.model.public.client.input.add_order import Order  # noqa: E402

T = TypeVar("T")


def official_client(url: str, account: str = "root") -> Any:
    """A logged-in ``js7.client.client.Client`` (its constructor logs in and
    asks ``joc/version``)."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    return js7_client.Client(
        http_config=HTTPConfiguration(host=host, port=int(port)),
        auth_config=AuthConfiguration(
            basic_auth=BasicAuth(username=account, password=ACCOUNTS[account][0])
        ),
    )


async def call(f: Callable[[], T]) -> T:
    return await asyncio.to_thread(f)


async def test_the_official_client_logs_in_reads_status_switches_over_and_logs_out(deploy):
    dep = await deploy(joc_cluster(2))
    active = await wait_one_active(dep)
    client = await call(lambda: official_client(dep.url(active)))
    # Its login insists on JOC >= 2.6.5 and reports the version it was told.
    assert client._ctx.version == "2.8.0-js7ha"

    status = await call(lambda: client.controller.manage.get_controller_status(controller_id="js7"))
    # (The client answers with its pydantic models dumped: snake_case keys.)
    ctl = status["controller"]
    assert (ctl["controller_id"], ctl["role"]) == ("js7", "STANDALONE")
    assert ctl["id"] == 1 and ctl["url"].startswith("http://")  # (JOC's way there: a proxy)
    assert ctl["connection_state"]["severity"] == 0
    assert ctl["cluster_node_state"]["severity"] == 0

    components = await call(
        lambda: client.controller.manage.get_controller_components(controller_id="js7")
    )
    members = {j["member_id"]: j["cluster_node_state"]["severity"] for j in components["jocs"]}
    assert sorted(members.values()) == [0, 1], members  # one active, one standby

    # The client finds the standby itself (severity 1) and switches to it.
    assert await call(lambda: client.joc.operate.switch_over(controller_id="js7")) is True
    standby = next(m for m, sev in members.items() if sev == 1)
    node = next(n.name for n in dep.topology.by_role("joc") if standby.endswith(n.name))
    await wait_active(dep, node)

    # JOC's services, run now on the new active instance.
    other = await call(lambda: official_client(dep.url(node)))
    assert await call(lambda: other.joc.operate.run_service(service_type="cleanup")) is True
    assert await call(lambda: other.joc.operate.run_service(service_type="dailyplan")) is True

    assert await call(client.logout) is True
    assert await call(other.logout) is True


async def test_the_official_client_switches_the_controller_cluster_over(deploy):
    dep = await deploy(joc_and_controller_cluster(1))
    await wait_one_active(dep)
    cluster = ClusterClient(dep)
    await wait_cluster(dep, cluster)
    before = await cluster.find_active()
    client = await call(lambda: official_client(dep.url("joc-1")))
    status = await call(lambda: client.controller.manage.get_controller_status(controller_id="js7"))
    assert status["controller"]["role"] in ("PRIMARY", "BACKUP")
    assert status["controller"]["is_coupled"] is True
    switched = await call(
        lambda: client.controller.operate.switchover_controller_cluster(controller_id="js7")
    )
    assert switched is True
    await dep.wait_for(
        "the other Controller node active",
        cluster.find_active,
        accept=lambda node: node not in (None, before),
    )
    assert await call(client.logout) is True


async def test_the_official_client_adds_orders_and_reads_their_state_history_and_logs(deploy):
    dep = await deploy(joc_cluster(1))
    active = await wait_one_active(dep)
    # Deployment is the reference's own call yet (the client's needs JOC's
    # inventory): the workflow "w" echoes a line on agent-1.
    await JocClient(dep, active).post("inventory/deployment/deploy", {"workflows": [workflow()]})
    client = await call(lambda: official_client(dep.url(active)))
    ids = await call(
        lambda: client.order.operate.add_orders(
            controller_id="js7", orders=[Order(order_name="one", workflow_path="w")]
        )
    )
    assert len(ids) == 1 and ids[0].startswith("#") and ids[0].endswith("-one")
    # An id with '#' reaches the Controller intact (JOC encodes it in the URL).
    got = await call(
        lambda: client.order.manage.get_orders(
            controller_id="js7", filter=GetOrderFilter(order_ids=ids)
        )
    )
    assert [(o.order_name, o.workflow_path) for o in got] == [("one", "w")]

    async def history() -> list[dict[str, Any]]:
        rows = await call(
            lambda: client.order.manage.get_orders_history(
                controller_id="js7", filter=OrderHistoryFilter(date_from="1d")
            )
        )
        return [r for r in rows if r["order_id"] == ids[0]]

    (row,) = await dep.wait_for(
        "the order in the history, finished",
        history,
        accept=lambda rows: len(rows) == 1 and rows[0]["end_time"] is not None,
    )
    assert row["state"]["severity"] == 6 and row["order_state"]["severity"] == 6  # FINISHED
    assert row["position"] == "1" and row["workflow"] == "w"
    log = await call(
        lambda: client.order.manage.get_order_log(controller_id="js7", history_id=row["history_id"])
    )
    # JOC's order log: the order's events, each with JOC's fields, read by
    # the client as it reads a real JOC's (the job's output is its task log).
    assert [e["log_event"] for e in log] == [
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderFinished",
    ]
    started, processed = log[1], log[2]
    assert all(e["controller_datetime"] and e["order_id"] == ids[0] for e in log)
    assert (started["agent_id"], started["task_id"]) == ("agent-1", processed["task_id"])
    assert (processed["log_level"], processed["return_code"]) == ("SUCCESS", 0)
    (task,) = [
        t
        for t in await call(
            lambda: client.task.manage.get_task_history_info(
                controller_id="js7", filter=TasksFilter()
            )
        )
        if t["order_id"] == ids[0]
    ]
    assert (task["state"]["text"], task["exit_code"], task["position"]) == ("SUCCESSFUL", 0, "0")
    text = await call(
        lambda: client.task.manage.get_task_log(controller_id="js7", task_id=task["task_id"])
    )
    assert text == f"hello-{ids[0]}\n"  # what the job echoed
    overview = await call(
        lambda: client.order.manage.get_orders_overview(controller_id="js7", date_from="1d")
    )
    assert overview == (1, 0)  # (successful, failed)
    assert await call(client.logout) is True


async def test_the_official_client_deploys_a_draft_plans_submits_and_runs_cleanup(deploy):
    dep = await deploy(joc_cluster(1))
    active = await wait_one_active(dep)
    client = await call(lambda: official_client(dep.url(active)))
    inv = client.inventory

    # A workflow draft in JOC's inventory shape (jobs name their Agent by
    # agentName), stored and deployed; an order runs on it.
    draft = {
        "instructions": [{"TYPE": "Execute.Named", "jobName": "echo", "label": "echo"}],
        "jobs": {
            "echo": {
                "agentName": "agent-1",
                "executable": {
                    "TYPE": "ShellScriptExecutable",
                    "script": "echo deployed-$JS7_ORDER_ID",
                },
                "taskLimit": 1,
            }
        },
    }
    stored = await call(
        lambda: inv.manage.store_configuration(
            Configuration(path="/it/deployed", object_type=ObjectType.WORKFLOW), payload=draft
        )
    )
    assert stored is True
    deployed = await call(
        lambda: inv.deploy.configurations(
            controller_id="js7",
            deploy=[DraftConfiguration(path="/it/deployed", object_type="WORKFLOW")],
        )
    )
    assert deployed is True
    (oid,) = await call(
        lambda: client.order.operate.add_orders(
            controller_id="js7", orders=[Order(order_name="d", workflow_path="deployed")]
        )
    )

    async def finished(order_id: str) -> list[dict[str, Any]]:
        rows = await call(
            lambda: client.order.manage.get_orders_history(
                controller_id="js7", filter=OrderHistoryFilter(date_from="1d")
            )
        )
        return [r for r in rows if r["order_id"] == order_id and r["end_time"] is not None]

    (row,) = await dep.wait_for("the deployed workflow's order finished", lambda: finished(oid))
    assert row["workflow"] == "deployed" and row["state"]["severity"] == 6
    (task,) = [
        t
        for t in await call(
            lambda: client.task.manage.get_task_history_info(
                controller_id="js7", filter=TasksFilter()
            )
        )
        if t["order_id"] == oid
    ]
    text = await call(
        lambda: client.task.manage.get_task_log(controller_id="js7", task_id=task["task_id"])
    )
    assert text == f"deployed-{oid}\n"  # the deployed job's script ran

    # A calendar and a schedule, released; the Daily Plan plans the schedule's
    # order a few seconds from now, lists it as planned, submits it and shows
    # it finished once it ran.
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=4)
    day = start.date()
    calendar = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": list(range(7))}]}}
    schedule = {
        "workflowNames": ["deployed"],
        "planOrderAutomatically": True,
        "calendars": [
            {
                "calendarName": "every-day",
                "timeZone": "Etc/UTC",
                "periods": [{"singleStart": start.strftime("%H:%M:%S")}],
            }
        ],
        "orderParameterisations": [{"orderName": "planned", "variables": {}}],
    }
    for path, kind, payload in [
        ("/it/every-day", ObjectType.WORKINGDAYSCALENDAR, calendar),
        ("/it/daily", ObjectType.SCHEDULE, schedule),
    ]:
        assert await call(
            lambda path=path, kind=kind, payload=payload: inv.manage.store_configuration(
                Configuration(path=path, object_type=kind), payload=payload
            )
        )
    assert await call(
        lambda: inv.manage.release_configuartions(
            update=[ReleaseConfiguration(path="/it", object_type="FOLDER")]
        )
    )
    plan = client.daily_plan
    assert await call(
        lambda: plan.manage.generate_orders(
            controller_id="js7", daily_plan_dates=[day], schedule_paths=["/it/daily"]
        )
    )
    selected = DailyPlanOrdersFilter(date_from=day, schedule_paths=["/it/daily"])

    async def items() -> list[dict[str, Any]]:
        answer = await call(lambda: plan.manage.get_orders(filter=selected))
        return list(answer["planned_order_items"])

    (item,) = await items()
    assert item["order_id"] == f"#{day}#P{start:%H%M%S}-daily-planned"
    assert (item["schedule_path"], item["workflow_path"]) == ("/it/daily", "/it/deployed")
    # (The client's DailyPlanOrderState model has no alias for JOC's "_text":
    # it reads the state by its severity only — PLANNED 4, FINISHED 6.)
    assert item["state"]["severity"] == 4 and item["submitted"] is False
    assert await call(
        lambda: plan.operate.submit_orders(
            DailyPlanSubmitOrderFilter(date_from=day, schedule_paths=["/it/daily"], order_ids=None)
        )
    )
    (done,) = await dep.wait_for(
        "the planned order finished",
        items,
        accept=lambda got: len(got) == 1 and got[0]["state"]["severity"] == 6,
    )
    assert done["submitted"] is True and done["end_time"] is not None
    assert await finished(item["order_id"])

    # A bad request gets JOC's error answer (420 with error.code).
    with pytest.raises(JocOperationFailed) as bad:
        await call(
            lambda: inv.deploy.configurations(
                controller_id="js7",
                deploy=[DraftConfiguration(path="/it/nothing", object_type="WORKFLOW")],
            )
        )
    assert bad.value.code == "UnknownConfiguration"

    # The deployed workflow removed from the Controller: it takes no order
    # any more, and the deployment history shows the removal.
    assert await call(
        lambda: inv.deploy.configurations(
            controller_id="js7",
            delete=[DeployConfiguration(path="/it/deployed", object_type="WORKFLOW")],
        )
    )
    with pytest.raises(JocOperationFailed) as gone:
        await call(
            lambda: client.order.operate.add_orders(
                controller_id="js7", orders=[Order(order_name="late", workflow_path="deployed")]
            )
        )
    assert gone.value.code == "UnknownItemPath"
    operations = [
        (d["operation"], d["folder"], d["workflowCount"])
        for d in (
            await JocClient(dep, active).post(
                "inventory/deployment/history", {"compactFilter": {"controllerId": "js7"}}
            )
        )["depHistory"]
    ]
    assert ("DELETE", "/it", 1) in operations and ("UPDATE", "/it", 1) in operations

    # JOC's global settings: JOC's cleanup defaults, then a retention of one
    # second stored (js7ha counts seconds; JOC would ignore them), and a
    # cleanup run now purges the finished order's history.
    read = await call(client.joc.manage.get_settings_info)
    cfg = read["configuration"]
    assert cfg["configuration_type"] == "GLOBALS"
    cleanup = json.loads(cfg["configuration_item"])["cleanup"]
    assert cleanup["order_history_age"]["value"] == "90d"
    assert cleanup["order_history_logs_age"]["value"] == "90d"
    cleanup["order_history_age"] = {"value": "1s", "ordering": 5}
    assert await call(lambda: client.joc.manage.store_settings({"cleanup": cleanup})) is True
    stored = json.loads(
        (await call(client.joc.manage.get_settings_info))["configuration"]["configuration_item"]
    )
    assert stored == {"cleanup": cleanup}
    assert await finished(oid)
    await asyncio.sleep(1.0)  # the order must be older than the one-second retention
    assert await call(lambda: client.joc.operate.run_service(service_type="cleanup")) is True
    assert await finished(oid) == []
    assert await call(client.logout) is True
