"""Session commands: ``POST …/api/session``.

Sources (sos-berlin/js7): js7-base/shared/src/test/scala/js7/base/session/
SessionCommandTest.scala (Login, Logout, LoggedIn).
"""

from __future__ import annotations

import msgspec


class UserAndPassword(msgspec.Struct, kw_only=True):
    userId: str
    password: str


class Login(msgspec.Struct, tag_field="TYPE", tag="Login", kw_only=True, omit_defaults=True):
    """``userAndPassword`` absent: an anonymous login, which no reference
    node allows (every user has a password)."""

    userAndPassword: UserAndPassword | None = None
    js7Version: str | None = None


class Logout(msgspec.Struct, tag_field="TYPE", tag="Logout", kw_only=True):
    sessionToken: str


SessionCommand = Login | Logout


class LoggedIn(msgspec.Struct, tag_field="TYPE", tag="LoggedIn", kw_only=True):
    sessionToken: str
    js7Version: str
