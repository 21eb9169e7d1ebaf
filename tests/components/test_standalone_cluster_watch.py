"""The standalone Cluster Watch (JS7's ``js7-cluster-watch``): its settings,
refused at start with the setting named, and JOC's reading of which node a
user's ``confirm_node_loss`` confirms."""

import json
import subprocess
import sys

import pytest

from components.cluster_watch import settings
from components.common.config import Config, ConfigProblem
from components.joc.cluster_watch import _lost_node
from components.wire import events as ev

NODES = [
    {"uri": "http://127.0.0.1:1", "user": "ClusterWatch", "password": "plain:s"},
    {"uri": "http://127.0.0.1:2", "user": "ClusterWatch", "password": "plain:s"},
]


def _hocon(conf: dict) -> str:
    """HOCON paths (a quoted JSON key with dots would be one key)."""
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in conf.items())


def _cfg(tmp_path, **conf) -> Config:
    path = tmp_path / "cluster-watch.conf"
    path.write_text(_hocon(conf))
    return Config.load(path)


def test_the_two_nodes_their_logins_and_the_port_are_read(tmp_path):
    cfg = _cfg(
        tmp_path,
        **{"js7.web.http.port": 4444, "js7.journal.cluster.watch.cluster-nodes": NODES},
    )
    s = settings.load(cfg, "watch-1")
    assert [(n.uri, n.user, n.password) for n in s.nodes] == [
        ("http://127.0.0.1:1", "ClusterWatch", "s"),
        ("http://127.0.0.1:2", "ClusterWatch", "s"),
    ]
    assert (s.watch_id, s.port, s.retry_max_delay) == ("watch-1", 4444, 1.0)


@pytest.mark.parametrize(
    ("conf", "watch_id", "named"),
    [
        (
            {"js7.web.http.port": 1, "js7.journal.cluster.watch.cluster-nodes": NODES[:1]},
            "w",
            "js7.journal.cluster.watch.cluster-nodes",
        ),
        (
            {
                "js7.web.http.port": 1,
                "js7.journal.cluster.watch.cluster-nodes": [{"user": "x"}, {}],
            },
            "w",
            "js7.journal.cluster.watch.cluster-nodes[0]",
        ),
        ({"js7.journal.cluster.watch.cluster-nodes": NODES}, "w", "js7.web.http.port"),
        (
            {"js7.web.http.port": 1, "js7.journal.cluster.watch.cluster-nodes": NODES},
            "a b",
            "--cluster-watch-id",
        ),
    ],
)
def test_a_wrong_setting_is_refused_by_name(tmp_path, conf, watch_id, named):
    with pytest.raises(ConfigProblem) as err:
        settings.load(_cfg(tmp_path, **conf), watch_id)
    assert err.value.setting == named


def test_the_process_stops_at_start_naming_the_setting(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "cluster-watch.conf").write_text(
        _hocon({"js7.web.http.port": 1, "js7.journal.cluster.watch.cluster-nodes": []})
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "components.cluster_watch",
            "--data-dir",
            str(tmp_path),
            "--cluster-watch-id=w",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "js7.journal.cluster.watch.cluster-nodes" in done.stderr


def test_joc_confirms_the_failed_active_or_the_lost_passive():
    failed_over = ev.ClusterFailedOver(
        failedActiveId="Primary",
        activatedId="Backup",
        failedAt=ev.JournalPosition(fileEventId=0, position=0),
    )
    passive_lost = ev.ClusterPassiveLost(id="Backup")
    problem = ev.ClusterNodeLossNotConfirmedProblem
    assert _lost_node(problem(fromNodeId="Backup", event=failed_over)) == "Primary"
    assert _lost_node(problem(fromNodeId="Primary", event=passive_lost)) == "Backup"
    assert _lost_node(None) is None
