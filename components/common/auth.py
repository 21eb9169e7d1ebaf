"""Users, passwords and sessions, as JS7 nodes have them.

Users come from the node's HOCON config (``private.conf``)::

    js7.auth.users {
      Controller { password = "sha512:<hex>" }   # or "plain:<text>"
      History = "plain:secret"                    # the short form
      Harness { password = "plain:…", permissions = [ UpdateItem ] }
    }

Permissions are JS7's (js7-base/.../auth/Permission.scala, without the
suffix): every logged-in user may read and send commands; adding items
(``POST /controller/api/item``) needs ``UpdateItem``, as in JS7. The
reference adds one of its own, ``ClusterWatch``, for the Cluster Watch an
Agent hosts (JS7's Watch is JOC, and has no such request). A missing one is
JS7's 403 ``UserDoesNotHavePermission``.

``POST …/api/session`` with ``{"TYPE":"Login","userAndPassword":{"userId",
"password"}}`` answers ``{"TYPE":"LoggedIn","sessionToken": …,"js7Version": …}``
(JS7's shapes: ``components/wire/session.py``); every other request (but
``/health``) must carry it in the ``x-js7-session`` header. Tokens live in
memory: a restarted node forgets them and clients log in again (a 401 tells
them to).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from components.common.config import Config, ConfigProblem
from components.common.web import Problem, read_body
from components.wire import JS7_VERSION
from components.wire.codec import decode, to_json
from components.wire.session import LoggedIn, Logout, SessionCommand, UserAndPassword

SESSION_HEADER = "x-js7-session"


# JS7's permission names, and the reference's own ClusterWatch.
PERMISSIONS = frozenset(
    {
        "UpdateItem",
        "AgentDirector",
        "AgentDirectorForward",
        "ReadMetrics",
        "ReadInternals",
        "Super",
        "ClusterWatch",
    }
)


@dataclass(frozen=True)
class User:
    id: str
    password: str  # "plain:..." or "sha512:<hex>"
    permissions: frozenset[str] = frozenset()

    def has(self, permission: str) -> bool:
        return permission in self.permissions or "Super" in self.permissions

    def check(self, password: str) -> bool:
        scheme, _, stored = self.password.partition(":")
        if scheme == "plain":
            return hmac.compare_digest(stored.encode(), password.encode())
        if scheme == "sha512":
            digest = hashlib.sha512(password.encode()).hexdigest()
            return hmac.compare_digest(stored.lower(), digest)
        return False


def load_users(cfg: Config, key: str = "js7.auth.users") -> dict[str, User]:
    users: dict[str, User] = {}
    for uid, value in cfg.mapping(key, {}).items():
        pw = value.get("password") if isinstance(value, Mapping) else value
        if not isinstance(pw, str) or pw.partition(":")[0] not in ("plain", "sha512"):
            raise ConfigProblem(
                cfg.source, f"{key}.{uid}", 'must be "plain:<password>" or "sha512:<hex digest>"'
            )
        granted = value.get("permissions", []) if isinstance(value, Mapping) else []
        if not isinstance(granted, list) or not all(p in PERMISSIONS for p in granted):
            raise ConfigProblem(
                cfg.source,
                f"{key}.{uid}.permissions",
                f"must be a list of {', '.join(sorted(PERMISSIONS))}",
            )
        users[uid] = User(uid, pw, frozenset(granted))
    return users


class Sessions:
    """In-memory session tokens of one node."""

    def __init__(self, users: Mapping[str, User]) -> None:
        self.users = dict(users)
        self._tokens: dict[str, str] = {}

    async def handle(self, request: web.Request) -> web.Response:
        """``POST …/api/session``: ``Login`` → ``LoggedIn``, ``Logout`` →
        ``Accepted`` (the token to end is the body's ``sessionToken``)."""
        cmd = decode(await read_body(request), SessionCommand, "SessionCommand")
        if isinstance(cmd, Logout):
            self._tokens.pop(cmd.sessionToken, None)
            return web.json_response({"TYPE": "Accepted"})
        token = self.login(cmd.userAndPassword)
        return web.json_response(to_json(LoggedIn(sessionToken=token, js7Version=JS7_VERSION)))

    def login(self, uap: UserAndPassword | None) -> str:
        user = None if uap is None else self.users.get(uap.userId)
        if uap is None or user is None or not user.check(uap.password):
            raise Problem(401, "InvalidLogin", "Login: unknown user or invalid password")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = user.id
        return token

    def user_of(self, request: web.Request) -> str:
        """The user id of the request's session, or a 401 problem."""
        token = request.headers.get(SESSION_HEADER)
        if not token:
            raise Problem(401, "Unauthorized", f"login required: send the {SESSION_HEADER} header")
        user = self._tokens.get(token)
        if user is None:
            raise Problem(401, "InvalidSessionToken", "Invalid session token (log in again)")
        return user

    def require(self, request: web.Request, permission: str) -> str:
        """The user of the request's session if granted ``permission``;
        else JS7's ``UserDoesNotHavePermission`` (403)."""
        user = self.user_of(request)
        if not self.users[user].has(permission):
            raise Problem(
                403,
                "UserDoesNotHavePermission",
                f"User '{user}' does not have the required permission '{permission}'",
                arguments={"userId": user, "permission": permission},
            )
        return user
