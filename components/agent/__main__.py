"""``python -m components.agent --data-dir DIR``.

Config: ``DIR/config/agent.conf`` (``js7.web.http.port``, optionally
``js7.web.http.host``) and ``DIR/config/private.conf`` (``js7.auth.users``,
``js7.journal.users-allowed-to-release-events``). State: ``DIR/state/``.
"""

from components.agent.agent import Agent
from components.common.node import run_main

if __name__ == "__main__":
    run_main(Agent, "agent", "agent.journal.sqlite")
