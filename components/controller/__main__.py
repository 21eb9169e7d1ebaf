"""``python -m components.controller --data-dir DIR``.

Config: ``DIR/config/controller.conf`` (``js7.controller.id``,
``js7.web.http.port``, ``js7.controller.agents.<path>.uri``, timing under
``js7.controller.agent-driver``, ``js7.journal.users-allowed-to-release-events``)
and ``DIR/config/private.conf`` (``js7.auth.users``, ``js7.auth.agents``).
State: ``DIR/state/``.
"""

from components.common.node import run_main
from components.controller.controller import Controller

if __name__ == "__main__":
    run_main(Controller, "controller", "controller.journal.sqlite")
