"""The JobScheduler 1.x reference speaks the engine's XML command interface.

Each test states the real shape it checks, with its source in JobScheduler
1.13 (``sos-berlin/scheduler-engine`` at v1.13.22; ``scheduler.xsd`` is
``sos-berlin/scheduler-engine-doc``
``enginedoc-common/src/main/resources/com/sos/scheduler/enginedoc/common/scheduler.xsd``),
then checks the reference's parsing and answers against it: first the wire
alone (``xml_wire``), then a running member, command by command.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from components.jobscheduler1 import xml_wire as wire
from harness.topology import Database, Node, Topology

# <spooler><answer time="2024-01-29T14:17:35.123Z"> — Command_processor::
# begin_answer (spooler_command.cxx:2200-2210), Time::xml_value with ms
# (spooler_time.cxx:462-472).
ANSWER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# <ERROR time=…> is xml_of_time_t, without ms (spooler_time.h:178-180).
ERROR_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
COMMAND_PATH = "/jobscheduler/engine/command"  # SchedulerClientFactory.scala:20


def answer_of(body: bytes) -> ET.Element:
    root = ET.fromstring(body)
    assert root.tag == "spooler", body
    (answer,) = list(root)
    assert answer.tag == "answer" and ANSWER_TIME.match(answer.attrib["time"]), body
    return answer


def error_of(body: bytes) -> ET.Element:
    """The one ``<ERROR time code text>`` of an answer (create_error_element,
    spooler_command.cxx:253-269: no class for the engine's own errors; text
    is Xc::what(), the code, two spaces, the message)."""
    answer = answer_of(body)
    errors = answer.findall("ERROR")
    assert len(errors) == 1, body
    e = errors[0]
    assert set(e.attrib) == {"time", "code", "text"}, e.attrib
    assert ERROR_TIME.match(e.attrib["time"]), e.attrib
    assert e.attrib["text"].startswith(e.attrib["code"] + "  "), e.attrib
    return e


# -- the wire --------------------------------------------------------------


def test_the_answer_envelope_and_the_error_element():
    a = wire.Answer()
    a.append(ET.Element("ok"))
    a.error(wire.xc("SCHEDULER-161", "Job_chain", "/nope"))
    body = a.to_bytes()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    answer = answer_of(body)
    assert [c.tag for c in answer] == ["ok", "ERROR"]
    err = error_of(ET.tostring(ET.fromstring(body)))  # one ERROR, its attributes
    assert err.attrib["text"] == "SCHEDULER-161  There is no Job_chain '/nope'"


@pytest.mark.parametrize(
    ("code", "args", "text"),
    [
        # scheduler_messages.cxx, line of each message
        ("SCHEDULER-105", ("bogus",), "Unknown command: <bogus>"),  # :16
        # :39
        ("SCHEDULER-149", ("/c", "x"), 'There is no job in job chain "/c" for the state "x"'),
        ("SCHEDULER-161", ("Job", "/j"), "There is no Job '/j'"),  # :49
        ("SCHEDULER-162", ("o", "/c"), 'There is no order o in job chain "/c"'),  # :50
        ("SCHEDULER-186", ("Order c:o", "/c"), "Order c:o is already in job chain /c"),  # :63
        ("SCHEDULER-360", ("T",), "Error when accessing database table T"),  # :210
    ],
)
def test_the_engines_message_texts(code, args, text):
    err = wire.xc(code, *args)
    assert (err.code, err.message, err.text) == (code, text, f"{code}  {text}")


def test_a_body_without_a_tag_is_a_command_name():
    # response_execute: no '<' in the text → "<" + text + "/>" (spooler_command.cxx:2027).
    assert wire.parse(b"show_state").tag == "show_state"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Xerces' words through Z-JAVA-105 (java.cxx:67, throw_java :1207-1263).
        (b"<show_state", "XML document structures must start and end within the same entity."),
        (b"x<show_state/>", "Content is not allowed in prolog."),
        (b"<show_state/><x/>", "The markup in the document following the root element"),
        (b"<a><b></a>", 'The element type "b" must be terminated by the matching end-tag "</b>".'),
    ],
)
def test_malformed_xml_is_the_parsers_exception(body, message):
    with pytest.raises(wire.EngineError) as err:
        wire.parse(body)
    assert err.value.code == "Z-JAVA-105"
    text = err.value.message
    assert text.startswith("Java exception org.xml.sax.SAXParseException; lineNumber: ")
    assert message in text and text.endswith(", method=CallObjectMethodA")


@pytest.mark.parametrize(
    "body",
    [
        # XxeVulnerabilityIT.scala:94-107: any DOCTYPE is refused (XmlUtils.scala:38-42).
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY % one SYSTEM "http://x/t.dtd"> %one;]><t/>',
        b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><show_state what="&c;"/>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><show_state/>',
    ],
)
def test_a_doctype_is_refused_before_any_entity_is_read(body):
    with pytest.raises(wire.EngineError) as err:
        wire.parse(body)
    text = err.value.text
    # What XxeVulnerabilityIT asserts of the engine's answer (:78-79, :106-107).
    assert err.value.code == "Z-JAVA-105" and "org.xml.sax.SAXParseException" in text
    assert "DOCTYPE" in text and "http://apache.org/xml/features/disallow-doctype-decl" in text
    assert "true" in text


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        # The schema validator (CppXmlSchemaValidator.scala:17-19, on by default
        # spooler.cxx:694, before execution spooler_command.cxx:2138-2141).
        ("<bogus/>", "cvc-elt.1: Cannot find the declaration of element 'bogus'."),
        (
            '<modify_order job_chain="c"/>',  # scheduler.xsd:719-743: order required
            "cvc-complex-type.4: Attribute 'order' must appear on element 'modify_order'.",
        ),
        (
            '<modify_job job="j" cmd="explode"/>',  # scheduler.xsd:670-695
            "cvc-enumeration-valid: Value 'explode' is not facet-valid with respect to"
            " enumeration '[stop, unstop, start, wake, wake_when_in_period, end, suspend,"
            " continue, reread, remove, enable, disable]'.",
        ),
        (
            '<show_state colour="red"/>',  # scheduler.xsd:1146-1153
            "cvc-complex-type.3.2.2: Attribute 'colour' is not allowed to appear in"
            " element 'show_state'.",
        ),
        (
            '<show_history job="j" next="-1"/>',  # nonNegativeInteger, scheduler.xsd:1090-1098
            "cvc-datatype-valid.1.2.1: '-1' is not a valid value for 'nonNegativeInteger'.",
        ),
        (
            '<commands><job name="j"/></commands>',  # <job> is not in Commands, :179-230
            "cvc-complex-type.2.4.a: Invalid content was found starting with element 'job'.",
        ),
        (
            '<spooler><job_chain.modify job_chain="c"/></spooler>',  # nor in <spooler> :93-131
            "cvc-complex-type.2.4.a: Invalid content was found starting with element",
        ),
    ],
)
def test_a_document_the_schema_refuses(xml, message):
    with pytest.raises(wire.EngineError) as err:
        wire.validate(wire.parse(xml.encode()))
    assert err.value.code == "Z-JAVA-105"
    assert err.value.message.startswith("Java exception org.xml.sax.SAXParseException; cvc-")
    assert message in err.value.message and err.value.message.endswith(", method=CallVoidMethodA")


def test_commands_come_alone_in_commands_or_in_spooler():
    # Command_processor::execute_2 (spooler_command.cxx:2153-2186).
    one = wire.validate(wire.parse(b'<show_job job="j"/>'))
    two = wire.validate(wire.parse(b'<commands><show_jobs/><show_job job="j"/></commands>'))
    wrapped = wire.validate(wire.parse(b"<spooler><commands><show_jobs/></commands></spooler>"))
    assert [c.tag for c in one] == ["show_job"]
    assert [c.tag for c in two] == ["show_jobs", "show_job"]
    assert [c.tag for c in wrapped] == ["show_jobs"]


# -- a running member ------------------------------------------------------


@pytest.fixture
async def member(deploy):
    topo = Topology.build(
        [Node("js", "jobscheduler1", {"id": "xml", "exclusive": True})],
        database=Database(clients=("js",)),
    )
    dep = await deploy(topo)

    async def wait_active():
        _, body = await post(dep, '<show_state what="none"/>')
        return answer_of(body).find("state").attrib["state"]

    await dep.wait_for("js running", wait_active, accept=lambda s: s == "running")
    return dep


async def post(dep, body: str | bytes, path: str = COMMAND_PATH) -> tuple[int, bytes]:
    data = body.encode() if isinstance(body, str) else body
    async with dep.http.post(dep.url("js") + path, data=data) as resp:
        return resp.status, await resp.read()


async def ok(dep, xml: str) -> ET.Element:
    status, body = await post(dep, xml)
    answer = answer_of(body)
    assert status == 200 and answer.find("ERROR") is None, body
    (result,) = list(answer)
    return result


SCRIPT = (
    'echo "$SCHEDULER_ID|$SCHEDULER_JOB_NAME|$SCHEDULER_TASK_ID|$SCHEDULER_JOB_CHAIN|'
    '$SCHEDULER_ORDER_ID|$SCHEDULER_ORDER_HISTORY_ID|$SCHEDULER_ORDER_STATE"'
    ' > "$SCHEDULER_CONFIGURATION_DIRECTORY/../../env-$SCHEDULER_ORDER_ID"'
)


async def define(dep) -> None:
    # <job order="yes" tasks><script language="shell"> (scheduler.xsd:314-480, :946-965);
    # <job_chain> with <job_chain_node state job next_state error_state> and an
    # end node (scheduler.xsd:496-621).
    job = f'<job name="j" order="yes" tasks="2"><script language="shell">{SCRIPT}</script></job>'
    assert (await ok(dep, job)).tag == "ok"
    assert (
        await ok(
            dep,
            '<job_chain name="c" orders_recoverable="yes">'
            '<job_chain_node state="a" job="j" next_state="b" error_state="err"/>'
            '<job_chain_node state="b" job="/j" next_state="done" error_state="err"/>'
            '<job_chain_node.end state="done"/><job_chain_node state="err"/></job_chain>',
        )
    ).tag == "ok"


async def test_jobs_chains_orders_and_their_answers(member):
    dep = member
    await define(dep)
    # <add_order> answers <ok><order/></ok> (spooler_command.cxx:1287-1317).
    added = await ok(dep, '<add_order job_chain="c" id="o1" replace="no"/>')
    (order,) = list(added)
    assert added.tag == "ok" and order.tag == "order"
    assert (order.get("order"), order.get("id"), order.get("job_chain")) == ("o1", "o1", "/c")

    async def runs():
        chain = await ok(dep, '<show_job_chain job_chain="c" max_order_history="10"/>')
        return chain.findall("order_history/order")

    done = await dep.wait_for("o1 ran", runs, accept=lambda rs: rs and rs[0].get("end_time"))
    # <order_history><order history_id order state start_time end_time job_chain>
    # (spooler_order.cxx:2359-2398): the run ended in the end node.
    run = done[0]
    assert (run.get("order"), run.get("state"), run.get("job_chain")) == ("o1", "done", "c")
    assert ANSWER_TIME.match(run.get("start_time")) and ANSWER_TIME.match(run.get("end_time"))
    # The job saw the engine's environment (spooler_module.cxx:681-701).
    env = (dep.backend.data_dir("js") / "env-o1").read_text().strip().split("|")
    assert env[0] == "xml" and env[1] == "j" and env[3] == "c" and env[4] == "o1"
    assert env[5] == run.get("history_id") and env[6] == "b"  # the last step's state

    # <job_chains><job_chain path name orders state><job_chain_node state
    # next_state error_state action? job><order_queue length> (Job_chain::
    # dom_element spooler_order.cxx:2325-2400, Node :1349-1368, Job_node :1753-1770).
    chains = await ok(dep, "<show_job_chains/>")
    (chain,) = chains.findall("job_chain")
    assert (chain.get("path"), chain.get("name"), chain.get("state")) == ("/c", "c", "running")
    nodes = chain.findall("job_chain_node")
    assert [(n.get("state"), n.get("job"), n.get("next_state")) for n in nodes] == [
        ("a", "/j", "b"),
        ("b", "/j", "done"),
        ("done", None, None),
        ("err", None, None),
    ]
    assert nodes[0].find("order_queue").get("length") == "0"

    # <history><history.entry task id spooler_id job_name start_time end_time
    # cause steps error cluster_member_id exit_code> (Job_history::read_tail,
    # database.cxx:1906-1991): newest first without id (get_id_and_next,
    # spooler_command.cxx:709-724).
    history = await ok(dep, '<show_history job="j"/>')
    entries = history.findall("history.entry")
    assert len(entries) == 2 and int(entries[0].get("task")) > int(entries[1].get("task"))
    e = entries[-1]
    assert e.get("task") == e.get("id") and e.get("job_name") == "j"
    assert (e.get("spooler_id"), e.get("cluster_member_id")) == ("xml", "js")
    assert (e.get("error"), e.get("exit_code"), e.get("cause")) == ("0", "0", "order")
    after = await ok(dep, f'<show_history job="j" id="{e.get("task")}" next="5"/>')
    assert [x.get("task") for x in after] == [entries[0].get("task")]

    # <show_task id> of a finished task: <task id start_time end_time cause steps>
    # from the history (Database::read_task, database.cxx:1734-1785).
    task = await ok(dep, f'<show_task id="{e.get("task")}"/>')
    assert (task.tag, task.get("id"), task.get("cause")) == ("task", e.get("task"), "order")

    # <show_order> of an order no longer in its chain: from its order history,
    # outside any chain (spooler_command.cxx:1230-1283).
    finished = await ok(dep, '<show_order job_chain="c" order="o1"/>')
    assert (finished.get("order"), finished.get("state"), finished.get("job_chain")) == (
        "o1",
        "done",
        None,
    )


async def test_state_cluster_jobs_and_modifications(member):
    dep = member
    await define(dep)
    # <show_state what="none,cluster">: <state … state="running"> with its
    # <cluster cluster_member_id active exclusive><cluster_member …/>
    # (Spooler::state_dom_element spooler.cxx:886-1000, state_name :1373-1387;
    # Cluster::dom_element cluster.cxx:2746-2775, Cluster_member :844-880).
    state = await ok(dep, '<show_state what="none,cluster"/>')
    assert state.tag == "state" and state.get("state") == "running"
    assert state.get("spooler_id") == "xml" and state.find("jobs") is None
    cluster = state.find("cluster")
    got = (cluster.get("cluster_member_id"), cluster.get("active"), cluster.get("exclusive"))
    assert got == ("js", "yes", "yes")
    members = await dep.wait_for(
        "own row read",
        lambda: ok(dep, '<show_state what="none,cluster"/>'),
        accept=lambda s: s.find("cluster/cluster_member[@exclusive='yes']") is not None,
    )
    assert members.find("cluster/cluster_member").get("cluster_member_id") == "js"

    # <modify_job cmd="stop|unstop"> → <ok/>; <job state="stopped|pending">
    # (execute_modify_job spooler_command.cxx:912-934, Job::state_name
    # spooler_job.cxx:3214-3228).
    await ok(dep, '<modify_job job="j" cmd="stop"/>')
    job = await ok(dep, '<show_job job="j"/>')
    assert (job.get("path"), job.get("state"), job.get("order")) == ("/j", "stopped", "yes")
    assert job.find("tasks").get("count") == "0"

    # An order waits at its first node while the job is stopped; suspended
    # and resumed with <modify_order suspended> (spooler_command.cxx:1321-1407).
    await ok(dep, '<add_order job_chain="c" id="o2" suspended="yes"/>')
    order = await ok(dep, '<show_order job_chain="c" order="o2"/>')
    got = (order.get("state"), order.get("suspended"), order.get("job_chain"))
    assert got == ("a", "yes", "/c")
    await ok(dep, '<modify_order job_chain="c" order="o2" suspended="no"/>')
    assert (await ok(dep, '<show_order job_chain="c" order="o2"/>')).get("suspended") is None

    # <job_chain_node.modify action> and <job_chain.modify state> → <ok/>;
    # shown as action= and state= (spooler_order.cxx:1273-1287, :2272-2296).
    await ok(dep, '<job_chain_node.modify job_chain="c" state="a" action="next_state"/>')
    await ok(dep, '<job_chain.modify job_chain="c" state="stopped"/>')
    chain = await ok(dep, '<show_job_chain job_chain="c"/>')
    assert chain.get("state") == "stopped"
    assert chain.find("job_chain_node").get("action") == "next_state"
    await ok(dep, '<job_chain_node.modify job_chain="c" state="a" action="process"/>')
    chain = await ok(dep, '<show_job_chain job_chain="c"/>')
    assert chain.find("job_chain_node").get("action") is None  # process: no action

    # <commands>: one answer element per command, in order.
    _, body = await post(dep, "<commands><show_jobs/><show_job_chains/></commands>")
    assert [c.tag for c in answer_of(body)] == ["jobs", "job_chains"]
    # The classic port's POST to any path, and GET of a read-only command
    # (spooler_command.cxx:1765-1772, :1988-1991).
    status, body = await post(dep, "<show_jobs/>", path="/")
    assert status == 200 and answer_of(body)[0].tag == "jobs"
    async with dep.http.get(dep.url("js") + "/%3Cshow_state%20what=%22none%22/%3E") as resp:
        assert resp.status == 200 and answer_of(await resp.read())[0].tag == "state"
    async with dep.http.get(dep.url("js") + '/<modify_job job="j" cmd="unstop"/>') as resp:
        assert resp.status == 403


# -- bad input ---------------------------------------------------------------


async def snapshot(dep) -> bytes:
    """Everything a command could change, times left out."""
    _, body = await post(
        dep, '<commands><show_jobs/><show_job_chains max_order_history="50"/></commands>'
    )
    answer = answer_of(body)
    for e in answer.iter():
        for key in [k for k in e.attrib if "time" in k or k in ("created", "at")]:
            del e.attrib[key]
    return ET.tostring(answer)


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ('<add_order job_chain="c" id="x"', "Z-JAVA-105", "must start and end within the same"),
        ("<frobnicate/>", "Z-JAVA-105", "cvc-elt.1: Cannot find the declaration of element"),
        ('<modify_order job_chain="c"/>', "Z-JAVA-105", "Attribute 'order' must appear"),
        (
            '<!DOCTYPE z [<!ENTITY a "AAAAAAAAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<add_order job_chain="c" id="&b;"/>',
            "Z-JAVA-105",
            "DOCTYPE is disallowed",
        ),
        ('<add_order job_chain="nope" id="x"/>', "SCHEDULER-161", "There is no Job_chain '/nope'"),
        ('<add_order job_chain="c" id="x" state="zz"/>', "SCHEDULER-149", 'for the state "zz"'),
        ('<modify_order job_chain="c" order="none" suspended="yes"/>', "SCHEDULER-162", "none"),
        ('<modify_job job="nojob" cmd="stop"/>', "SCHEDULER-161", "There is no Job '/nojob'"),
        ('<job_chain_node.modify job_chain="c" state="q" action="stop"/>', "SCHEDULER-149", "q"),
        ('<show_job_chains what="everything"/>', "SCHEDULER-164", "invalid value for attribute"),
        # A valid command the reference does not execute (README).
        ('<start_job job="j"/>', "SCHEDULER-105", "Unknown command: <start_job>"),
        # An invalid command anywhere in a document: none of it runs.
        (
            '<commands><add_order job_chain="c" id="y"/><modify_job job="j" cmd="no"/></commands>',
            "Z-JAVA-105",
            "cvc-enumeration-valid",
        ),
        (
            '<job name="k" order="yes"><script language="java">x</script></job>',
            "SCHEDULER-391",
            "Allowed values are: shell",
        ),
    ],
)
async def test_bad_input_gets_the_engines_error_and_changes_nothing(member, body, code, text):
    dep = member
    await define(dep)
    await ok(dep, '<modify_job job="j" cmd="stop"/>')  # o0 stays where it is
    await ok(dep, '<add_order job_chain="c" id="o0"/>')
    before = await snapshot(dep)
    status, answer = await post(dep, body)
    assert status == 200
    err = error_of(answer)
    assert err.get("code") == code and text in err.get("text"), err.attrib
    assert b"Traceback" not in answer
    assert await snapshot(dep) == before


async def test_a_duplicate_order_is_refused_unless_replaced(member):
    dep = member
    await define(dep)
    await ok(dep, '<modify_job job="j" cmd="stop"/>')
    await ok(dep, '<add_order job_chain="c" id="o1"/>')
    before = await snapshot(dep)
    # replace="no": SCHEDULER-186 (place_in_job_chain, spooler_order.cxx:3242).
    _, body = await post(dep, '<add_order job_chain="c" id="o1" replace="no"/>')
    err = error_of(body)
    assert (err.get("code"), err.get("text")) == (
        "SCHEDULER-186",
        "SCHEDULER-186  Order c:o1 is already in job chain /c",
    )
    assert await snapshot(dep) == before
    # replace defaults to yes (spooler_command.cxx:1300): the waiting order is replaced.
    await ok(dep, '<add_order job_chain="c" id="o1" suspended="yes"/>')
    assert (await ok(dep, '<show_order job_chain="c" order="o1"/>')).get("suspended") == "yes"


async def test_an_oversized_body_is_refused_before_it_is_read(member):
    dep = member
    before = await snapshot(dep)
    body = b'<add_order job_chain="c" id="big">' + b" " * (wire.MAX_BODY + 1) + b"</add_order>"
    status, answer = await post(dep, body)
    # The engine's web server (spray-can, max-content-length 8m) answers 413.
    assert status == 413 and b"exceeds the configured limit of 8388608" in answer
    assert await snapshot(dep) == before
