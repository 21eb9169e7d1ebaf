"""JOC's inventory and Daily Plan, by their request and answer shapes
(js7-api-schemas, raml/api/schemas/...; the inventory objects' own shapes:
sos-berlin/js7-inventory-schemas, raml/inventory/schemas/...): a draft is
stored, released, planned and listed as JOC does, and every malformed request
is a 420 that changes nothing. The Controller is unreachable here: what
needs it (deploying, submitting) is covered with the official client in
``test_official_client.py``."""

import datetime as dt

import psycopg
import pytest

from components.joc import inventory
from components.joc.dailyplan import planned_orders
from tests.joc.jocapi import login, problem

TODAY = dt.datetime.now(dt.UTC).date()
# A Wednesday and the Sunday after it, far from today (nothing is late).
WEDNESDAY, SUNDAY = dt.date(2031, 1, 1), dt.date(2031, 1, 5)


def inventory_workflow(agent="agent-1", script="echo hi"):
    # raml/inventory/schemas/workflow/workflow-schema.json, job/job-schema.json:
    # jobs name their Agent by agentName; instructions name jobs.
    return {
        "version": "1.7.2",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "job1", "label": "job1"}],
        "jobs": {
            "job1": {
                "agentName": agent,
                "executable": {"TYPE": "ShellScriptExecutable", "script": script},
                "taskLimit": 1,
            }
        },
    }


def schedule(workflow="w", calendar="weekdays", start="10:00:00", **more):
    # raml/inventory/schemas/schedule/schedule-schema.json,
    # calendar/calendars-list-schema.json, calendar/period-schema.json
    return {
        "version": "1.7.2",
        "workflowNames": [workflow],
        "planOrderAutomatically": True,
        "submitOrderToControllerWhenPlanned": False,
        "calendars": [
            {"calendarName": calendar, "timeZone": "Etc/UTC", "periods": [{"singleStart": start}]}
        ],
        "orderParameterisations": [{"orderName": "run", "variables": {"x": "1"}}],
        **more,
    }


# raml/inventory/schemas/calendar/calendar-schema.json; JOC's days: 0/7 Sunday, 1 Monday…
WEEKDAYS = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [1, 2, 3, 4, 5]}]}}


async def post(api, token, path, body, status=200):
    r = await api.post(f"/joc/api/{path}", json=body, headers=token)
    assert r.status == status, await r.text()
    return await r.json()


async def store(api, token, path, object_type, configuration):
    return await post(
        api,
        token,
        "inventory/store",
        {"path": path, "objectType": object_type, "configuration": configuration},
    )


async def release(api, token, *objects, key="update"):
    # inventory/release/release-schema.json: update releases, delete recalls
    items = [{"path": path, "objectType": kind} for path, kind in objects]
    answer = await post(api, token, "inventory/release", {key: items})
    assert answer["ok"] is True


async def planned(api, token, day, **filters):
    # orderManagement/dailyplan/dailyPlanOrdersFilter-schema.json → plannedOrders-schema.json
    body = await post(
        api, token, "daily_plan/orders", {"dailyPlanDateFrom": day.isoformat(), **filters}
    )
    assert set(body) == {"deliveryDate", "plannedOrderItems"}, body
    return body["plannedOrderItems"]


async def test_a_stored_draft_answers_joc_configuration_object(api):
    token = await login(api)
    # inventory/configurationObject-schema.json (additionalProperties false)
    allowed = {
        "id",
        "path",
        "objectType",
        "name",
        "configuration",
        "state",
        "valid",
        "invalidMsg",
        "deleted",
        "deployed",
        "released",
        "hasDeployments",
        "hasReleases",
        "configurationDate",
        "deliveryDate",
    }
    ok = await store(api, token, "/f/w", "WORKFLOW", inventory_workflow())
    assert set(ok) <= allowed, set(ok) - allowed
    assert ok["path"] == "/f/w" and ok["name"] == "w" and ok["objectType"] == "WORKFLOW"
    assert ok["valid"] is True and ok["deployed"] is False and "invalidMsg" not in ok
    assert isinstance(ok["id"], int) and ok["configurationDate"].endswith("Z")
    # An invalid draft is stored (JOC keeps drafts) with its reason.
    bad = await store(api, token, "/f/broken", "WORKFLOW", {"instructions": [{"TYPE": "Fork"}]})
    assert bad["valid"] is False and "Fork" in bad["invalidMsg"]
    # Storing the same path again replaces the draft, same id.
    again = await store(api, token, "/f/w", "WORKFLOW", inventory_workflow(script="echo 2"))
    assert again["id"] == ok["id"]


async def test_released_schedules_are_planned_on_their_calendars_working_days(api):
    token = await login(api)
    await store(api, token, "/cal/weekdays", "WORKINGDAYSCALENDAR", WEEKDAYS)
    await store(api, token, "/flows/w", "WORKFLOW", inventory_workflow())
    await store(api, token, "/plans/s", "SCHEDULE", schedule())
    # inventory/release/release-schema.json (the client's ReleaseFilter)
    generate = {
        # dailyplan/generate/generate-request-schema.json
        "controllerId": "js7",
        "dailyPlanDates": [WEDNESDAY.isoformat(), SUNDAY.isoformat()],
        "withSubmit": False,
        "overwrite": False,
    }
    answer = await post(api, token, "daily_plan/orders/generate", generate)
    assert answer["ok"] is True
    assert await planned(api, token, WEDNESDAY) == []  # drafts are not planned
    await release(api, token, ("/cal", "FOLDER"), ("/plans/s", "SCHEDULE"))
    await post(api, token, "daily_plan/orders/generate", generate)
    (item,) = await planned(api, token, WEDNESDAY)
    # orderManagement/dailyplan/plannedOrderItem-schema.json: its required fields
    assert {"surveyDate", "workflowPath", "orderId", "plannedStartTime", "expectedEndTime"} <= set(
        item
    )
    assert item["startMode"] == 0 and item["controllerId"] == "js7"
    assert item["orderId"] == f"#{WEDNESDAY}#P100000-s-run"
    # JOC lists the workflow by its inventory path (the Controller's is its name).
    assert (item["schedulePath"], item["workflowPath"], item["orderName"]) == (
        "/plans/s",
        "/flows/w",
        "run",
    )
    assert item["plannedStartTime"] == f"{WEDNESDAY}T10:00:00.000Z"
    assert item["state"] == {"_text": "PLANNED", "severity": 4} and item["submitted"] is False
    assert await planned(api, token, SUNDAY) == []  # no working day
    # Planning twice plans nothing twice; selectors select.
    await post(api, token, "daily_plan/orders/generate", generate)
    assert len(await planned(api, token, WEDNESDAY)) == 1
    assert await planned(api, token, WEDNESDAY, schedulePaths=["/other"]) == []
    assert len(await planned(api, token, WEDNESDAY, workflowPaths=["w"])) == 1
    assert len(await planned(api, token, WEDNESDAY, workflowPaths=["/flows/w"])) == 1
    folders = [{"folder": "/flows", "recursive": False}]
    assert len(await planned(api, token, WEDNESDAY, workflowFolders=folders)) == 1
    assert await planned(api, token, WEDNESDAY, workflowFolders=[{"folder": "/plans"}]) == []
    assert await planned(api, token, WEDNESDAY, states=["SUBMITTED"]) == []
    # A schedule selected away is not planned.
    await store(api, token, "/plans/t", "SCHEDULE", schedule(start="11:00"))
    await release(api, token, ("/plans/t", "SCHEDULE"))
    await post(
        api,
        token,
        "daily_plan/orders/generate",
        {**generate, "schedulePaths": {"singles": ["/plans/s"]}},
    )
    assert [i["schedulePath"] for i in await planned(api, token, WEDNESDAY)] == ["/plans/s"]
    await post(
        api,
        token,
        "daily_plan/orders/generate",
        {**generate, "schedulePaths": {"folders": [{"folder": "/plans", "recursive": False}]}},
    )
    assert len(await planned(api, token, WEDNESDAY)) == 2
    # Recalled: no longer planned (already planned orders stay).
    await release(api, token, ("/plans/t", "SCHEDULE"), key="delete")
    await post(
        api, token, "daily_plan/orders/generate", {**generate, "dailyPlanDates": ["2031-01-08"]}
    )
    assert [i["schedulePath"] for i in await planned(api, token, dt.date(2031, 1, 8))] == [
        "/plans/s"
    ]


async def test_a_schedule_not_planned_automatically_only_when_asked(api):
    token = await login(api)
    await store(api, token, "/weekdays", "WORKINGDAYSCALENDAR", WEEKDAYS)
    await store(api, token, "/s", "SCHEDULE", schedule(planOrderAutomatically=False))
    await release(api, token, ("/", "FOLDER"))
    generate = {"controllerId": "js7", "dailyPlanDates": [WEDNESDAY.isoformat()]}
    await post(api, token, "daily_plan/orders/generate", generate)
    assert await planned(api, token, WEDNESDAY) == []
    await post(
        api, token, "daily_plan/orders/generate", {**generate, "includeNonAutoPlannedOrders": True}
    )
    assert len(await planned(api, token, WEDNESDAY)) == 1


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (
            "inventory/store",
            {"path": "/x", "objectType": "LOCK", "configuration": {}},
            "UnsupportedObjectType",
        ),
        (
            "inventory/store",
            {"path": "x", "objectType": "WORKFLOW", "configuration": {}},
            "InvalidField",
        ),
        (
            "inventory/store",
            {"path": "/a b", "objectType": "WORKFLOW", "configuration": {}},
            "InvalidField",
        ),
        (
            "inventory/store",
            {"path": "/x", "objectType": "WORKFLOW", "configuration": [1]},
            "InvalidField",
        ),
        ("inventory/store", {"path": "/x", "objectType": "WORKFLOW"}, "InvalidField"),
        ("inventory/release", {}, "InvalidField"),
        (
            "inventory/release",
            {"update": [{"path": "/nothing", "objectType": "SCHEDULE"}]},
            "UnknownConfiguration",
        ),
        (
            "inventory/release",
            {"update": [{"path": "/w", "objectType": "WORKFLOW"}]},
            "UnsupportedObjectType",
        ),
        ("inventory/release", {"update": "all"}, "InvalidField"),
        ("inventory/deployment/deploy", {"controllerIds": ["js7"]}, "InvalidField"),
        ("inventory/deployment/deploy", {"store": {"draftConfigurations": []}}, "InvalidField"),
        (
            "inventory/deployment/deploy",
            {"controllerIds": ["other"], "store": {}},
            "UnknownController",
        ),
        (
            "inventory/deployment/deploy",
            {
                "controllerIds": ["js7"],
                "store": {
                    "draftConfigurations": [{"configuration": {"path": "/l", "objectType": "LOCK"}}]
                },
            },
            "UnsupportedObjectType",
        ),
        (
            "inventory/deployment/deploy",
            {
                "controllerIds": ["js7"],
                "store": {
                    "draftConfigurations": [
                        {"configuration": {"path": "/none", "objectType": "WORKFLOW"}}
                    ]
                },
            },
            "UnknownConfiguration",
        ),
        (
            "inventory/deployment/deploy",
            {"controllerIds": ["js7"], "delete": {"deployConfigurations": []}},
            "InvalidField",
        ),
        (
            "inventory/deployment/deploy",
            {
                "controllerIds": ["js7"],
                "delete": {
                    "deployConfigurations": [
                        {"configuration": {"path": "/never", "objectType": "WORKFLOW"}}
                    ]
                },
            },
            "UnknownConfiguration",
        ),
        (
            "inventory/deployment/deploy",
            {"controllerIds": ["js7"], "delete": [{"path": "/w"}]},
            "InvalidField",
        ),
        ("daily_plan/orders/generate", {"controllerId": "js7"}, "InvalidField"),
        ("daily_plan/orders/generate", {"dailyPlanDates": []}, "InvalidField"),
        ("daily_plan/orders/generate", {"dailyPlanDates": ["2031-02-30"]}, "InvalidField"),
        (
            "daily_plan/orders/generate",
            {"dailyPlanDates": ["2031-01-01"], "schedulePaths": ["/s"]},
            "InvalidField",
        ),
        (
            "daily_plan/orders/generate",
            {"dailyPlanDates": ["2031-01-01"], "workflowPaths": {"folders": [{"folder": "x"}]}},
            "InvalidField",
        ),
        (
            "daily_plan/orders/generate",
            {"dailyPlanDates": ["2031-01-01"], "withSubmit": "yes"},
            "InvalidField",
        ),
        ("daily_plan/orders", {}, "InvalidField"),
        (
            "daily_plan/orders",
            {"dailyPlanDateFrom": "2031-01-02", "dailyPlanDateTo": "2031-01-01"},
            "InvalidField",
        ),
        (
            "daily_plan/orders",
            {"dailyPlanDateFrom": "2031-01-01", "states": ["DONE"]},
            "InvalidField",
        ),
        ("daily_plan/orders/submit", {}, "InvalidField"),
        (
            "daily_plan/orders/submit",
            {"dailyPlanDateFrom": "2031-01-01", "submissionHistoryIds": [1]},
            "UnsupportedField",
        ),
        (
            "daily_plan/orders/submit",
            {"dailyPlanDateFrom": "2031-01-01", "controllerIds": ["x"]},
            "UnknownController",
        ),
    ],
)
async def test_malformed_requests_are_420_and_change_nothing(api, path, body, code):
    token = await login(api)
    await store(api, token, "/weekdays", "WORKINGDAYSCALENDAR", WEEKDAYS)
    await store(api, token, "/s", "SCHEDULE", schedule())
    await release(api, token, ("/", "FOLDER"))
    before = await planned(api, token, WEDNESDAY)
    r = await api.post(f"/joc/api/{path}", json=body, headers=token)
    await problem(r, 400, code)
    assert await planned(api, token, WEDNESDAY) == before == []
    again = await store(api, token, "/s", "SCHEDULE", schedule())
    assert again["valid"] is True


async def test_invalid_drafts_are_neither_released_nor_deployed(api):
    token = await login(api)
    bad = await store(api, token, "/s", "SCHEDULE", schedule(calendars=[]))
    assert bad["valid"] is False and "calendars" in bad["invalidMsg"]
    r = await api.post(
        "/joc/api/inventory/release",
        json={"update": [{"path": "/s", "objectType": "SCHEDULE"}]},
        headers=token,
    )
    await problem(r, 400, "InvalidConfiguration")
    holidays = schedule(nonWorkingDayCalendars=[{"calendarName": "h"}])
    bad = await store(api, token, "/s", "SCHEDULE", holidays)
    assert bad["valid"] is False and "nonWorkingDayCalendars" in bad["invalidMsg"]
    monthly = {"type": "WORKINGDAYSCALENDAR", "includes": {"monthdays": [{"days": [1]}]}}
    cal = await store(api, token, "/monthly", "WORKINGDAYSCALENDAR", monthly)
    assert cal["valid"] is False and "weekdays and dates only" in cal["invalidMsg"]
    await store(api, token, "/w", "WORKFLOW", {"instructions": "none"})
    r = await api.post(
        "/joc/api/inventory/deployment/deploy",
        json={
            "controllerIds": ["js7"],
            "store": {
                "draftConfigurations": [{"configuration": {"path": "/w", "objectType": "WORKFLOW"}}]
            },
        },
        headers=token,
    )
    await problem(r, 400, "InvalidConfiguration")


async def test_a_viewer_may_list_the_plan_but_not_store_release_deploy_or_plan(api):
    viewer = await login(api, "viewer")
    assert await planned(api, viewer, TODAY) == []
    for path, body in [
        ("inventory/store", {"path": "/w", "objectType": "WORKFLOW", "configuration": {}}),
        ("inventory/release", {"update": [{"path": "/s", "objectType": "SCHEDULE"}]}),
        ("inventory/deployment/deploy", {"controllerIds": ["js7"], "store": {}}),
        ("daily_plan/orders/generate", {"dailyPlanDates": [TODAY.isoformat()]}),
        ("daily_plan/orders/submit", {"dailyPlanDateFrom": TODAY.isoformat()}),
    ]:
        await problem(await api.post(f"/joc/api/{path}", json=body, headers=viewer), 403)


async def test_a_release_with_one_bad_object_releases_nothing(api):
    token = await login(api)
    await store(api, token, "/weekdays", "WORKINGDAYSCALENDAR", WEEKDAYS)
    await store(api, token, "/s", "SCHEDULE", schedule())
    r = await api.post(
        "/joc/api/inventory/release",
        json={
            "update": [
                {"path": "/weekdays", "objectType": "WORKINGDAYSCALENDAR"},
                {"path": "/s", "objectType": "SCHEDULE"},
                {"path": "/missing", "objectType": "SCHEDULE"},
            ]
        },
        headers=token,
    )
    await problem(r, 400, "UnknownConfiguration")
    generate = {"dailyPlanDates": [WEDNESDAY.isoformat()]}
    await post(api, token, "daily_plan/orders/generate", generate)
    assert await planned(api, token, WEDNESDAY) == []


@pytest.mark.parametrize(
    ("calendar", "assigned", "day", "works"),
    [
        (WEEKDAYS, {}, WEDNESDAY, True),
        (WEEKDAYS, {}, SUNDAY, False),
        ({"includes": {"weekdays": [{"days": [0]}]}}, {}, SUNDAY, True),  # 0: Sunday
        ({"includes": {"weekdays": [{"days": [7]}]}}, {}, SUNDAY, True),  # 7: Sunday too
        ({"includes": {"dates": ["2031-01-05"]}}, {}, SUNDAY, True),
        ({**WEEKDAYS, "excludes": {"dates": ["2031-01-01"]}}, {}, WEDNESDAY, False),
        ({**WEEKDAYS, "from": "2031-01-02"}, {}, WEDNESDAY, False),
        ({**WEEKDAYS, "to": "2030-12-31"}, {}, WEDNESDAY, False),
        (
            {"includes": {"weekdays": [{"days": [3], "from": "2031-01-02"}]}},
            {},
            WEDNESDAY,
            False,
        ),
        ({}, {}, WEDNESDAY, False),  # a calendar without includes has no working day
        (WEEKDAYS, {"excludes": {"weekdays": [{"days": [3]}]}}, WEDNESDAY, False),
        (WEEKDAYS, {"includes": {"dates": ["2031-01-02"]}}, WEDNESDAY, False),
    ],
)
def test_working_days_of_a_calendar_as_a_schedule_assigns_it(calendar, assigned, day, works):
    assert inventory.is_working_day(calendar, assigned, day) is works


WRONG = (None, 7, -1, "x", "", True, [], {}, [1], {"a": 1})
TABLES = ("INV_CONFIGURATIONS", "INV_RELEASED_CONFIGURATIONS", "DEP_HISTORY", "DPL_ORDERS")


def mutants(body):
    """``body`` with each of its values (at any depth) replaced by each of
    ``WRONG``, and with each key left out."""

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield {kk: vv for kk, vv in value.items() if kk != k}
                for w in (*WRONG, *walk(v)):
                    yield {**value, k: w}
        elif isinstance(value, list):
            for i, v in enumerate(value):
                for w in (*WRONG, *walk(v)):
                    yield [*value[:i], w, *value[i + 1 :]]

    seen = set()
    for m in walk(body):
        key = repr(m)
        if key not in seen:
            seen.add(key)
            yield m


async def snapshot(database_url):
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        out = {}
        for t in TABLES:
            cur = await conn.execute(f"SELECT * FROM {t} ORDER BY 1".encode())
            out[t] = await cur.fetchall()
        return out


async def test_no_mutant_of_a_valid_request_is_a_bug_and_a_refused_one_changes_nothing(
    api, database_url
):
    token = await login(api)
    await store(api, token, "/weekdays", "WORKINGDAYSCALENDAR", WEEKDAYS)
    await store(api, token, "/w", "WORKFLOW", inventory_workflow())
    valid = [
        ("inventory/store", {"path": "/s", "objectType": "SCHEDULE", "configuration": schedule()}),
        (
            "inventory/store",
            {"path": "/c", "objectType": "WORKINGDAYSCALENDAR", "configuration": WEEKDAYS},
        ),
        (
            "inventory/store",
            {"path": "/w", "objectType": "WORKFLOW", "configuration": inventory_workflow()},
        ),
        (
            "inventory/release",
            {
                "update": [{"path": "/s", "objectType": "SCHEDULE"}],
                "delete": [{"path": "/c", "objectType": "WORKINGDAYSCALENDAR"}],
            },
        ),
        (
            "inventory/deployment/deploy",
            {
                "controllerIds": ["js7"],
                "store": {
                    "draftConfigurations": [
                        {
                            "configuration": {
                                "path": "/w",
                                "objectType": "WORKFLOW",
                                "recursive": False,
                            }
                        }
                    ]
                },
            },
        ),
        (
            "daily_plan/orders/generate",
            {
                "controllerId": "js7",
                "dailyPlanDates": [WEDNESDAY.isoformat()],
                "schedulePaths": {
                    "singles": ["/s"],
                    "folders": [{"folder": "/", "recursive": True}],
                },
                "workflowPaths": {"singles": ["w"]},
                "overwrite": True,
                "withSubmit": False,
                "includeNonAutoPlannedOrders": True,
            },
        ),
        (
            "daily_plan/orders/submit",
            {
                "dailyPlanDateFrom": WEDNESDAY.isoformat(),
                "dailyPlanDateTo": WEDNESDAY.isoformat(),
                "schedulePaths": ["/s"],
                "scheduleFolders": [{"folder": "/", "recursive": True}],
                "orderIds": ["x"],
            },
        ),
        (
            "daily_plan/orders",
            {
                "dailyPlanDateFrom": WEDNESDAY.isoformat(),
                "workflowPaths": ["w"],
                "workflowFolders": [{"folder": "/"}],
                "states": ["PLANNED"],
                "late": False,
                "controllerIds": ["js7"],
            },
        ),
    ]
    tried = 0
    for path, body in valid:
        for mutant in [body, *mutants(body)]:
            before = await snapshot(database_url)
            r = await api.post(f"/joc/api/{path}", json=mutant, headers=token)
            text = await r.text()
            tried += 1
            assert r.status in (200, 420), (path, mutant, text)
            if r.status == 420:
                code = (await r.json())["error"]["code"]
                assert code != "InternalError", (path, mutant, text)
                if code != "ControllerUnreachable":  # (planned, then not submitted)
                    assert await snapshot(database_url) == before, (path, mutant, text)
    assert tried > 500


def test_a_schedule_plans_at_its_calendars_time_zone_one_order_per_workflow_and_name():
    conf = schedule(
        workflowNames=["a", "b"],
        calendars=[
            {
                "calendarName": "weekdays",
                "timeZone": "Europe/Berlin",
                "periods": [{"singleStart": "10:00:00"}, {"singleStart": "23:30"}],
            }
        ],
    )
    released = inventory.Released("/p/s", "s", conf)
    found = inventory.schedules_for(released, {"weekdays": WEEKDAYS}, WEDNESDAY)
    orders = [o for s in found for o in planned_orders("js7", WEDNESDAY, s)]
    assert [(o["orderId"], o["workflowPath"], o["scheduledFor"].isoformat()) for o in orders] == [
        ("#2031-01-01#P100000-s-run-a", "a", "2031-01-01T09:00:00+00:00"),
        ("#2031-01-01#P233000-s-run-a", "a", "2031-01-01T22:30:00+00:00"),
        ("#2031-01-01#P100000-s-run-b", "b", "2031-01-01T09:00:00+00:00"),
        ("#2031-01-01#P233000-s-run-b", "b", "2031-01-01T22:30:00+00:00"),
    ]
    assert {(o["scheduleName"], o["orderName"], o["timeZone"]) for o in orders} == {
        ("/p/s", "run", "Europe/Berlin")
    }
    assert all(o["arguments"] == {"x": "1"} for o in orders)
    # A calendar that is not released plans nothing.
    assert inventory.schedules_for(released, {}, WEDNESDAY) == []


def test_a_stored_workflow_reaches_the_controller_as_its_own_shape():
    got = inventory.controller_workflow("w", "c1", inventory_workflow())
    assert got == {
        "TYPE": "Workflow",
        "path": "w",
        "versionId": "c1",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "job1", "label": "job1"}],
        "jobs": {
            "job1": {
                "agentPath": "agent-1",
                "executable": {"TYPE": "ShellScriptExecutable", "script": "echo hi"},
                "parallelism": 1,
            }
        },
    }
