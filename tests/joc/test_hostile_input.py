"""Hostile input at JOC's edge (issue 13's findings 5, JOC part): each body
a logged-in user can send is answered with JOC's error (420
``{"error":{"code","message"}}``), never a 500, and changes nothing."""

import pytest

from tests.joc.jocapi import login

HOSTILE = [
    ("orders/history", b'{"limit":18446744073709551616}'),
    ("orders/history", b'{"limit":-1}'),
    ("orders/history", b'{"dateFrom":"-99999999d"}'),
    ("orders/history", b'{"dateFrom":"99999999999d"}'),
    ("orders/history", b'{"dateTo":"-9999999999999h"}'),
    ("orders/history", b'{"dateFrom":"9999-99-99T99:99:99Z"}'),
    ("orders/history", b'{"orderIds":["a\\u0000b"]}'),
    ("orders/history", b'{"orderIds":"not a list"}'),
    ("orders/history", b'{"timeZone":"Mars/Olympus"}'),
    ("tasks/history", b'{"limit":1e400}'),
    ("tasks/history", b'{"dateFrom":"-99999999w"}'),
    ("orders", b'{"orderIds":["\\u0000"]}'),
    ("orders/add", b'{"orders":[{"orderName":"\\u0000","workflowPath":"w"}]}'),
    ("orders/history", b'{"orderId":"a\\u0000*","workflowPath":"%_\\\\"}'),
    ("orders/history", b'{"historyIds":[9223372036854775807],"folders":[{"folder":"/%"}]}'),
    ("orders/history", b'{"dateFrom":"-99999999999999999999y"}'),
    ("orders/history", b'{"dateFrom":"+1y-999999999999M"}'),
    ("tasks/history", b'{"jobs":[{"workflowPath":1}],"taskIds":["x"]}'),
    ("inventory/deployment/history", b'{"compactFilter":[]}'),
    ("inventory/deployment/history", b'{"compactFilter":{"limit":0,"folder":"\\u0000"}}'),
    ("daily_plan/history", b'{"dateFrom":"9999-12-31","dateTo":"+99999y","submitted":"yes"}'),
    ("daily_plan/history/submissions", b'{"controllerId":"js7","date":"2024-02-30"}'),
    (
        "daily_plan/history/submissions/orders",
        b'{"controllerId":"js7","date":"0","submissionTime":"-99999999999d"}',
    ),
    ("audit_log", b'{"comment":"\\u0000","account":7,"categories":"ALL"}'),
    ("export/orders/history", b'{"limit":-2}'),
    ("export/daily_plan/history", b'{"dateFrom":"-1h"}'),
    ("export/audit_log", b'{"timeZone":"\\u0000"}'),
    ("orders/history", b"[" * 999 + b"]" * 999),
    ("orders/history", b'{"limit":' + b"9" * 5000 + b"}"),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE, ids=[f"{p} {b[:40]!r}" for p, b in HOSTILE])
async def test_hostile_bodies_get_jocs_error_answer(api, path, body):
    headers = {**await login(api), "Content-Type": "application/json"}
    r = await api.post(f"/joc/api/{path}", data=body, headers=headers)
    answer = await r.json(content_type=None)
    assert r.status in (200, 420), (r.status, answer)
    if r.status == 420:
        assert answer["error"]["code"] != "InternalError", answer
        assert answer["error"]["message"], answer
