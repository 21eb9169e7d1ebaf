"""Only the process that created a session removes the session's
containers at its end. An inner pytest run (the plugin's own tests run
pytest in a subprocess) inherits the session id and ``JS7HA_DOCKER=1``;
once it removed the whole outer session — containers other tests of the
same run were still using — when it ended."""

import docker

from harness.backends.docker.labels import DEPLOYMENT_LABEL

from ..harness.topologies import single

pytest_plugins = ["pytester"]


async def test_an_inner_run_leaves_the_outer_sessions_containers_alone(deploy, pytester):
    dep = await deploy(single())
    label = {"label": f"{DEPLOYMENT_LABEL}={dep.backend.deployment}"}
    before = docker.from_env().api.containers(filters=label)
    assert len(before) == 2  # the node and the link proxy
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]\n')
    pytester.makepyfile("def test_nothing():\n    pass\n")
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    res.assert_outcomes(passed=1)
    after = docker.from_env().api.containers(filters=label)
    assert [c["Id"] for c in after] == [c["Id"] for c in before]
    assert await dep.backend.healthy("a") == ""
