import pytest

from harness.errors import ConfigError
from harness.topology import Database, Link, Node, Topology, thaw


def test_links_are_named_from_to_and_parse_back():
    assert Link("joc-1", "controller-1").name == "joc-1--controller-1"
    assert Link.parse("joc-1--controller-1") == Link("joc-1", "controller-1")
    with pytest.raises(ConfigError):
        Link.parse("no-separator")


def test_database_clients_get_their_own_links():
    t = Topology.build(
        [Node("a", "echo"), Node("b", "echo")], [("a", "b")], Database(clients=("a", "b"))
    )
    assert [lk.name for lk in t.all_links] == ["a--b", "a--postgres", "b--postgres"]
    assert [lk.name for lk in t.links_touching("b")] == ["a--b", "b--postgres"]
    assert [lk.name for lk in t.outgoing("a")] == ["a--b", "a--postgres"]


@pytest.mark.parametrize(
    ("nodes", "links", "db", "message"),
    [
        ([Node("a", "echo"), Node("a", "echo")], [], None, "duplicate node names: a"),
        ([Node("a", "echo")], [("a", "a")], None, "connects a node to itself"),
        ([Node("a", "echo")], [("a", "zz")], None, "unknown node 'zz'"),
        ([Node("a", "echo"), Node("b", "echo")], [("a", "b"), ("a", "b")], None, "listed twice"),
        ([Node("a", "echo")], [], Database(clients=("q",)), "'q' is not a node"),
    ],
)
def test_invalid_topologies_are_refused_before_anything_starts(nodes, links, db, message):
    with pytest.raises(ConfigError, match=message):
        Topology.build(nodes, links, db)


@pytest.mark.parametrize("name", ["A", "1a", "a--b", "postgres", "a" * 50, "a_b"])
def test_bad_node_names(name):
    with pytest.raises(ConfigError):
        Node(name, "echo")


def test_node_config_is_frozen_but_thaws_to_json():
    n = Node("a", "echo", {"x": {"y": [1, 2]}})
    with pytest.raises(TypeError):
        n.config["x"] = 1  # type: ignore[index]
    assert thaw(n.config) == {"x": {"y": [1, 2]}}
