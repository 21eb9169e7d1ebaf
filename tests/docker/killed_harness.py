"""Not a test module: the harness process that ``test_reaper_on_docker.py``
SIGKILLs. Deploys a small topology on Docker, prints its owner label, then
waits to be killed, leaving its containers and network behind for the reaper."""

import asyncio
import sys
from pathlib import Path

from harness import procs
from harness.backends.docker.backend import DockerBackend
from harness.profiles import REFERENCE
from tests.harness.topologies import triangle


async def main(image: str) -> None:
    backend = DockerBackend(triangle(db=True), REFERENCE, procs.temp_root() / "w", image=image)
    await backend.deploy()
    print(procs.owner().label, backend.deployment, flush=True)
    await asyncio.sleep(300)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    asyncio.run(main(sys.argv[1]))
