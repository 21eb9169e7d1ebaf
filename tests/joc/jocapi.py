"""A reference JOC instance under aiohttp's test client, with JOC's own
answers checked: its login, and its error answers (error.raml)."""

import base64
import json

from harness import ports
from harness.components import write_json_config


def write_conf(data_dir, database_url, **overrides):
    conf = {
        "joc.cluster.member-id": "joc-t",
        "joc.cluster.polling-interval": 0.2,
        "joc.cluster.heart-beat-exceeded-interval": 1.0,
        "joc.web.http.port": ports.reserve_one(),
        "joc.database.url": database_url,
        "joc.controllers": {"controller": {"uri": "http://127.0.0.1:9"}},
        "joc.auth.roles": {"admin": {"permissions": ["*"]}, "viewer": {"permissions": ["view"]}},
        **overrides,
    }
    write_json_config(data_dir / "config" / "joc.conf", conf)
    write_json_config(
        data_dir / "config" / "private.conf",
        {
            "joc.auth.accounts": {
                "root": {"password": "plain:pw", "roles": ["admin"]},
                "viewer": {"password": "plain:pw", "roles": ["viewer"]},
            },
            "joc.controller-users.history": {"password": "plain:x"},
            "joc.controller-users.joc": {"password": "plain:x"},
        },
    )


def basic(user, pw="pw"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}


async def login(client, user="root"):
    r = await client.post("/joc/api/authentication/login", headers=basic(user))
    assert r.status == 200
    body = await r.json()
    assert body["isAuthenticated"] is True and body["sessionTimeout"] > 0
    return {"X-Access-Token": body["accessToken"]}


async def problem(resp, status, code=None):
    """JOC's error answer (error.raml): 401/403 the security answer, else 420
    with ``error: {code, message}`` — whatever the reference's own status."""
    text = await resp.text()
    assert "Traceback" not in text
    body = json.loads(text)
    if status in (401, 403):
        assert resp.status == status, text
        assert body["isAuthenticated"] is (status == 403) and body["isPermitted"] is False, body
        assert body["message"], body
        return body
    assert resp.status == 420, text
    assert body["deliveryDate"] and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body
