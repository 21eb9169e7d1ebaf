"""Not collected by default (no ``test_`` prefix): the victim run of
``test_interrupt.py``. Each test deploys a topology with PostgreSQL, says so
by touching a file, then waits to be interrupted."""

import asyncio
import os
from pathlib import Path

import pytest

from .topologies import triangle


@pytest.mark.parametrize("i", [0, 1])
async def test_victim(deploy, i):
    await deploy(triangle(db=True))
    Path(os.environ["JS7HA_INTERRUPT_DIR"], f"ready-{i}-{os.getpid()}").touch()
    await asyncio.sleep(120)
