"""Small topologies of ``echo`` nodes for exercising the harness itself."""

from harness.topology import Database, Node, Topology


def triangle(db: bool = False) -> Topology:
    """a, b, c with a link each way between every pair; optionally all on the DB."""
    names = ["a", "b", "c"]
    links = [(x, y) for x in names for y in names if x != y]
    return Topology.build(
        [Node(n, "echo") for n in names], links, Database(clients=tuple(names)) if db else None
    )


def single(db: bool = False) -> Topology:
    return Topology.build([Node("a", "echo")], [], Database(clients=("a",)) if db else None)
