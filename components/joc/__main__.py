"""``python -m components.joc --data-dir DIR``.

Config: ``DIR/config/joc.conf`` + ``DIR/config/private.conf`` (see
``components.joc.config``). Serves the REST API until SIGTERM/SIGINT, then
hands the active role over to a standby (a normal stop is a switch-over).
"""

from __future__ import annotations

import asyncio
import logging

from components.common.config import ConfigProblem, data_dir_args, die
from components.common.web import serve, setup_logging
from components.joc import config
from components.joc.api import Api
from components.joc.app import Joc
from components.joc.errors import joc_error_response

log = logging.getLogger("js7.joc")


def main() -> None:
    args = data_dir_args("python -m components.joc")
    setup_logging()
    try:
        cfg = config.load(args.data_dir)
    except ConfigProblem as p:
        die(p)

    async def run() -> None:
        joc = Joc(cfg)
        api = Api(joc)
        await joc.start()
        try:
            await serve(api.app(), cfg.host, cfg.port, render=joc_error_response)
        finally:
            await joc.stop()
        log.info("JOC instance %s stopped", cfg.member_id)

    asyncio.run(run())


if __name__ == "__main__":
    main()
