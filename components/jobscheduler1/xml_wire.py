"""The wire of JobScheduler 1.x's XML command interface: a command document
in, an answer document out.

It follows JobScheduler 1.13 (``sos-berlin/scheduler-engine`` at v1.13.22;
file:line references below are that repository's, ``scheduler.xsd`` is
``sos-berlin/scheduler-engine-doc`` ``enginedoc-common/src/main/resources/
com/sos/scheduler/enginedoc/common/scheduler.xsd``).

What must hold:

* A body is only ever read as plain XML: a DOCTYPE is refused as the
  engine's parser refuses it (``XmlUtils.scala:38-42`` inhibits XXE,
  ``XxeVulnerabilityIT.scala:70-107`` shows the answer), so no entity can be
  declared, let alone expanded. A body over ``MAX_BODY`` bytes is not read.
* A body without ``<`` is a command name: the engine makes ``<name/>`` of
  it (``spooler_command.cxx:2027``).
* Every command of a document is checked against the schema before any of
  them runs (validation is on by default, ``spooler.cxx:694``, done before
  execution, ``spooler_command.cxx:2138-2141``): an invalid document changes
  nothing.
* The answer is ``<spooler><answer time="…">…</answer></spooler>``
  (``spooler_command.cxx:2200-2210``); an error is the answer's
  ``<ERROR time code text/>`` (``spooler_command.cxx:253-269``), sent with
  HTTP 200 like every other answer.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers import expat

# spray-can's parsing.max-content-length (8m): the engine's web server sets no
# other limit, and answers a longer body with HTTP 413.
MAX_BODY = 8 * 1024 * 1024

# scheduler_messages.cxx (line of each entry); $n is the n-th insertion.
MESSAGES = {
    "SCHEDULER-105": "Unknown command: <$1>",  # :16
    "SCHEDULER-149": 'There is no job in job chain "$1" for the state "$2"',  # :39
    "SCHEDULER-150": 'The state "$1" has already assigned a job in job chain $2',  # :40
    "SCHEDULER-161": "There is no $1 '$2'",  # :49
    "SCHEDULER-162": 'There is no order $1 in job chain "$2"',  # :50
    "SCHEDULER-164": '<show_... what="$1">: invalid value for attribute what=',  # :52
    "SCHEDULER-184": "Scheduler database cannot be accessed due to a database problem",  # :62
    "SCHEDULER-186": "$1 is already in job chain $2",  # :63
    "SCHEDULER-207": "Task $1 is unknown (and not noted in the history)",  # :78
    "SCHEDULER-231": "Missing attribute $2 in XML element <$1>",  # :98
    "SCHEDULER-279": "Process terminated with signal $1 ($2)",  # :140
    "SCHEDULER-280": "Process terminated with exit code $1 (0x$2)",  # :141
    "SCHEDULER-353": "No immediate response from command <$1>",  # :205
    "SCHEDULER-360": "Error when accessing database table $1",  # :210
    "SCHEDULER-391": "Invalid value '$2' for setting '$1'. Allowed values are: $3",  # :235
    "SCHEDULER-403": (  # :242
        "There is no valid state for job chain node state='$1', action='next_state'"
        " (circular next_state)"
    ),
}
# java.cxx:67, raised by Env::throw_java (java.cxx:1207-1263) for any Java
# exception, e.g. the XML parser's or the schema validator's.
JAVA_EXCEPTION = "Z-JAVA-105"
# The parser's own words for a DOCTYPE (XxeVulnerabilityIT.scala:106-107).
DOCTYPE_TEXT = (
    'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/'
    'disallow-doctype-decl" set to true.'
)


class EngineError(Exception):
    """What the engine answers as ``<ERROR code text/>``: ``code`` as
    ``SCHEDULER-161``, ``text`` the full message (``Xc::what()``: the code,
    two spaces, the message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}  {message}")
        self.code = code
        self.message = message

    @property
    def text(self) -> str:
        return f"{self.code}  {self.message}"


def xc(code: str, *args: object) -> EngineError:
    """The engine's ``z::throw_xc(code, args…)`` with its message text."""

    def insertion(m: re.Match[str]) -> str:
        i = int(m.group(1)) - 1
        return str(args[i]) if i < len(args) else ""

    return EngineError(code, re.sub(r"\$(\d)", insertion, MESSAGES[code]))


def java_exception(detail: str, method: str) -> EngineError:
    """``Z-JAVA-105  Java exception <toString of the exception>, method=<JNI call>``."""
    return EngineError(JAVA_EXCEPTION, f"Java exception {detail}, method={method}")


def sax_error(message: str, line: int | None = None, column: int | None = None) -> str:
    """``SAXParseException.toString()``: the locator only when it is known."""
    where = "" if line is None else f"; lineNumber: {line}; columnNumber: {column}"
    return f"org.xml.sax.SAXParseException{where}; {message}"


# -- times ----------------------------------------------------------------


def xml_time(epoch_ms: float, *, with_ms: bool = True) -> str:
    """``Time::xml_value``: ``yyyy-mm-ddThh:mm:ss.mmmZ`` in UTC
    (spooler_time.cxx:462-472); ``with_ms=False`` is ``xml_of_time_t``
    (spooler_time.h:178-180)."""
    t = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if with_ms:
        text += f".{int(epoch_ms) % 1000:03d}"
    return text + "Z"


def now_ms() -> int:
    return int(time.time() * 1000)


# -- the answer -------------------------------------------------------------


class Answer:
    """``<spooler><answer time>`` with one element per executed command, and an
    ``<ERROR>`` after the last one that ran when a command failed."""

    def __init__(self) -> None:
        self.root = ET.Element("spooler")
        self.answer = ET.SubElement(self.root, "answer", time=xml_time(now_ms()))

    def append(self, element: ET.Element) -> None:
        self.answer.append(element)

    def error(self, err: EngineError) -> None:
        # No class attribute: the engine sets it only for its own exception
        # classes with a name (spooler_command.cxx:259).
        ET.SubElement(
            self.answer,
            "ERROR",
            time=xml_time(now_ms(), with_ms=False),
            code=err.code,
            text=err.text,
        )

    def to_bytes(self) -> bytes:
        body = ET.tostring(self.root, encoding="unicode", short_empty_elements=True)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def element(tag: str, attrs: Mapping[str, object] | None = None, **more: object) -> ET.Element:
    """An element whose attributes are set only when not None (the engine's
    ``setAttribute_optional``); booleans become ``yes``."""
    e = ET.Element(tag)
    for k, v in {**(attrs or {}), **more}.items():
        if v is None or v is False:
            continue
        e.set(k.rstrip("_"), "yes" if v is True else str(v))
    return e


# -- parsing ----------------------------------------------------------------


class _Refused(Exception):
    pass


def parse(body: bytes) -> ET.Element:
    """The command document's root element, or the ``Z-JAVA-105`` error the
    engine's parser gives (``method=CallObjectMethodA``: its call of
    ``XmlUtils.loadXml``, javaproxy ``…XmlUtils.cxx:86-94``)."""
    if b"<" not in body:
        body = b"<" + body + b"/>"
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []
    started = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal started
        started = True
        stack.append(name)
        builder.start(name, attrs)

    def end(name: str) -> None:
        stack.pop()
        builder.end(name)

    def refuse(*_: object) -> None:
        raise _Refused(DOCTYPE_TEXT)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.buffer_text = True
    try:
        parser.Parse(body, True)
    except _Refused as r:
        line, col = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        raise java_exception(sax_error(str(r), line, col), "CallObjectMethodA") from None
    except expat.ExpatError as e:
        text = _xerces_text(e, started=started, open_element=stack[-1] if stack else None)
        raise java_exception(sax_error(text, e.lineno, e.offset + 1), "CallObjectMethodA") from None
    root: ET.Element = builder.close()
    return root


_CODES = expat.errors.codes


def _xerces_text(e: expat.ExpatError, *, started: bool, open_element: str | None) -> str:
    """Xerces' words (the engine's parser) for the common mistakes; expat's
    own for the rest."""
    code = e.code
    if code == _CODES[expat.errors.XML_ERROR_NO_ELEMENTS] and not started:
        return "Premature end of file."
    if code in (
        _CODES[expat.errors.XML_ERROR_NO_ELEMENTS],
        _CODES[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
    ):
        return "XML document structures must start and end within the same entity."
    if not started and code in (
        _CODES[expat.errors.XML_ERROR_SYNTAX],
        _CODES[expat.errors.XML_ERROR_INVALID_TOKEN],
    ):
        return "Content is not allowed in prolog."
    if code == _CODES[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]:
        return "The markup in the document following the root element must be well-formed."
    if code == _CODES[expat.errors.XML_ERROR_TAG_MISMATCH] and open_element:
        return (
            f'The element type "{open_element}" must be terminated by the matching'
            f' end-tag "</{open_element}>".'
        )
    return str(expat.errors.messages[code]).capitalize() + "."


# -- the schema (the part the reference executes) ----------------------------

ANY = None  # an element whose content is not checked here
YES_NO = ("yes", "no", "true", "false", "1", "0")  # scheduler.xsd:1594-1603
NO = ("no", "false", "0")  # scheduler.xsd:1604-1610


@dataclass(frozen=True)
class Spec:
    """One element of ``scheduler.xsd``: its attributes (``"string"``,
    ``"integer"``, ``"nonNegativeInteger"``, ``"positiveInteger"``,
    ``"duration"`` or a tuple of allowed values), the required ones, its child
    elements (None: not checked)."""

    attributes: Mapping[str, object] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    children: Mapping[str, Spec | None] | None = field(default_factory=dict)
    any_attribute: bool = False


def _spec(
    attrs: Mapping[str, object],
    required: Iterable[str] = (),
    children: Mapping[str, Spec | None] | None = None,
    any_attribute: bool = False,
) -> Spec:
    kids = {} if children is None else children
    return Spec(dict(attrs), frozenset(required), kids, any_attribute)


def _strings(*names: str) -> dict[str, object]:
    return dict.fromkeys(names, "string")


NONNEG = "nonNegativeInteger"


def _counts(*names: str) -> dict[str, object]:
    return dict.fromkeys(names, NONNEG)


SHOW_STATE = _spec(  # scheduler.xsd:1146-1153
    {
        **_strings("what", "subsystems", "path"),
        **_counts("max_orders", "max_order_history", "max_task_history"),
    }
)
PERIOD = _spec(  # scheduler.xsd:880-895
    {
        **_strings("single_start", "begin", "end", "when_holiday"),
        "let_run": YES_NO,
        "repeat": "duration",
        "absolute_repeat": "duration",
        "start_once": YES_NO,
    }
)
RUN_TIME = Spec(  # scheduler.xsd:1435-1500
    attributes={
        **_strings("schedule", "name", "title", "substitute", "valid_from", "valid_to"),
        **_strings("single_start", "begin", "end", "when_holiday", "time_zone"),
        "let_run": YES_NO,
        "repeat": "duration",
        "once": YES_NO,
    },
    children={
        "period": PERIOD,
        "at": _spec({"at": "string"}),
        **dict.fromkeys(("date", "weekdays", "monthdays", "ultimos", "month", "holidays"), ANY),
        **dict.fromkeys(("holiday", "calendars"), ANY),
    },
)
ORDER = _spec(  # scheduler.xsd:789-812 (add_order, order)
    {
        **_strings("job_chain", "id", "title", "state", "end_state", "web_service", "at"),
        "priority": "integer",
        "replace": YES_NO,
        "suspended": YES_NO,
    },
    children={
        **dict.fromkeys(("extensions", "params", "payload", "xml_payload"), ANY),
        "run_time": RUN_TIME,
    },
)
SCRIPT = Spec(  # scheduler.xsd:946-965
    attributes={
        **_strings("language", "com_class", "filename", "java_class", "encoding"),
        **_strings("java_class_path", "dll", "dotnet_class"),
        "use_engine": ("task",),
        "recompile": YES_NO,
    },
    children={"include": ANY},
)
JOB = _spec(  # scheduler.xsd:314-480
    {
        **_strings("name", "visible", "priority", "spooler_id", "title", "timeout"),
        **_strings("idle_timeout", "process_class", "mail_xslt_stylesheet", "java_options"),
        **_strings("ignore_signals", "warn_if_longer_than", "warn_if_shorter_than"),
        **_strings("stderr_log_level", "credentials_key", "criticality"),
        **dict.fromkeys(("temporary", "log_append", "order", "separate_process"), YES_NO),
        **dict.fromkeys(("force_idle_timeout", "stop_on_error", "replace"), YES_NO),
        **dict.fromkeys(("enabled", "load_user_profile"), YES_NO),
        "tasks": NONNEG,
        "min_tasks": "positiveInteger",
    },
    children={
        **dict.fromkeys(("extensions", "settings", "description", "lock.use", "params"), ANY),
        **dict.fromkeys(("environment", "login", "monitor", "monitor.use"), ANY),
        **dict.fromkeys(("start_when_directory_changed", "delay_after_error"), ANY),
        **dict.fromkeys(("delay_order_after_setback", "commands"), ANY),
        "script": SCRIPT,
        "run_time": RUN_TIME,
    },
)
JOB_CHAIN_NODE = _spec(  # scheduler.xsd:535-590
    {
        **_strings("state", "job", "next_state", "error_state"),
        "on_error": ("setback", "suspend"),
        "suspend": YES_NO,
        "delay": NONNEG,
    },
    required=("state",),
    children={"extensions": ANY, "on_return_codes": ANY},
    any_attribute=True,
)
JOB_CHAIN = _spec(  # scheduler.xsd:496-598
    {
        **_strings("name", "visible", "title", "process_class", "file_watching_process_class"),
        **dict.fromkeys(("replace", "orders_recoverable", "distributed"), YES_NO),
        "max_orders": NONNEG,
    },
    children={
        **dict.fromkeys(("extensions", "note", "file_order_source", "file_order_sink"), ANY),
        "job_chain_node.job_chain": ANY,
        "job_chain_node": JOB_CHAIN_NODE,
        "job_chain_node.end": _spec({"state": "string"}, required=("state",)),  # :619-621
    },
)
MODIFY_JOB_CMDS = (  # scheduler.xsd:670-695, Job::state_cmd_name (spooler_job.cxx:3263-3281)
    "stop",
    "unstop",
    "start",
    "wake",
    "wake_when_in_period",
    "end",
    "suspend",
    "continue",
    "reread",
    "remove",
    "enable",
    "disable",
)
NODE_ACTIONS = ("process", "stop", "next_state")  # scheduler.xsd:1587-1593

# The commands the reference executes, with their schema.
COMMANDS: dict[str, Spec] = {
    "show_state": SHOW_STATE,
    "s": SHOW_STATE,  # scheduler.xsd:943
    "show_jobs": _spec(  # scheduler.xsd:1124-1130
        {"what": "string", **_counts("max_orders", "max_task_history")}
    ),
    "show_job": _spec(  # scheduler.xsd:1100-1107
        {**_strings("job", "job_chain", "what"), **_counts("max_orders", "max_task_history")},
        required=("job",),
    ),
    "show_job_chains": _spec(  # scheduler.xsd:1117-1123
        {"what": "string", **_counts("max_orders", "max_order_history")}
    ),
    "show_job_chain": _spec(  # scheduler.xsd:1109-1116
        {**_strings("job_chain", "what"), **_counts("max_orders", "max_order_history")},
        required=("job_chain",),
    ),
    "show_order": _spec(  # scheduler.xsd:1131-1138
        {**_strings("job_chain", "order", "what"), "history_id": NONNEG},
        required=("job_chain",),
    ),
    "show_history": _spec(  # scheduler.xsd:1090-1098
        {
            **_strings("job", "what"),
            "id": "positiveInteger",
            "prev": NONNEG,
            "next": NONNEG,
            "max_orders": NONNEG,
        },
        required=("job",),
    ),
    "show_task": _spec(  # scheduler.xsd:1155-1160
        {"id": "positiveInteger", "what": "string"}, required=("id",)
    ),
    "add_order": ORDER,
    "order": ORDER,
    "modify_order": _spec(  # scheduler.xsd:719-743
        {
            **_strings("job_chain", "order", "title", "state", "at", "end_state"),
            "priority": "integer",
            "setback": NO,
            "suspended": YES_NO,
            "action": ("reset",),
        },
        required=("job_chain", "order"),
        children={"params": ANY, "xml_payload": ANY, "run_time": RUN_TIME},
    ),
    "modify_job": _spec(  # scheduler.xsd:670-695
        {"job": "string", "cmd": MODIFY_JOB_CMDS},
        required=("job",),
        children={"run_time": RUN_TIME},
    ),
    "job_chain.modify": _spec(  # scheduler.xsd:697-709
        {"job_chain": "string", "state": ("running", "stopped")}, required=("job_chain",)
    ),
    "job_chain_node.modify": _spec(  # scheduler.xsd:710-716
        {"job_chain": "string", "state": "string", "action": NODE_ACTIONS},
        required=("job_chain", "state"),
    ),
    "job": JOB,
    "job_chain": JOB_CHAIN,
    "add_jobs": _spec({}, children={"job": JOB}),  # scheduler.xsd:269-275
}


def _names(*chunks: str) -> frozenset[str]:
    return frozenset(" ".join(chunks).split())


# Every other global element of scheduler.xsd (a valid root, which the
# reference does not execute: SCHEDULER-105).
OTHER_GLOBAL_ELEMENTS = _names(
    "plugin.command cluster_member_command check_folders holiday holidays include monitor"
    " job_chains jobs monitors kill_task licence.use modify_hot_folder lock lock.remove"
    " modify_spooler note param param.get params params.get period process_class"
    " process_class.remove process_classes register_remote_scheduler remove_job_chain"
    " remove_order publish_event run_time schedule schedule.remove script security"
    " supervisor.configuration.fetch",
    " supervisor.remote_scheduler.configuration.fetch_updated_files",
    " cluster job.why job_chain.check_distributed setting.set"
    " scheduler_log.log_categories.reset scheduler_log.log_categories.set"
    " scheduler_log.log_categories.show service_request show_calendar show_process_classes"
    " show_schedulers subsystem.show start_job remote_scheduler.start_remote_task"
    " remote_scheduler.remote_task.kill remote_scheduler.remote_task.close terminate"
    " events.get http_server web_services extensions",
)
# The other members of the choice of <commands> (scheduler.xsd:179-230) and
# of <spooler> (scheduler.xsd:93-131).
IN_COMMANDS = (frozenset(COMMANDS) - {"job", "job_chain"}) | _names(
    "check_folders kill_task licence.use lock lock.remove modify_hot_folder modify_spooler"
    " plugin.command process_class process_class.remove job_chain.check_distributed"
    " register_remote_scheduler remove_job_chain remove_order run_time setting.set"
    " scheduler_log.log_categories.reset scheduler_log.log_categories.set"
    " scheduler_log.log_categories.show show_calendar show_process_classes show_schedulers"
    " service_request start_job subsystem.show remote_scheduler.start_remote_task"
    " remote_scheduler.remote_task.close remote_scheduler.remote_task.kill",
    " terminate job.why",
)
IN_SPOOLER = _names(
    "config commands command answer add_jobs add_order check_folders job.why kill_task"
    " modify_job modify_order modify_spooler job_chain.check_distributed"
    " register_remote_scheduler remove_job_chain remove_order run_time show_calendar"
    " show_history show_job show_jobs show_job_chains show_job_chain show_order"
    " show_process_classes s show_schedulers show_state show_task service_request start_job"
    " subsystem.show terminate events.get",
)


def validate(root: ET.Element) -> list[ET.Element]:
    """The commands of a document, in order, after checking all of them
    against the schema: ``<spooler>`` holds one command or ``<commands>``;
    ``<commands>`` holds any number (``Command_processor::execute_2``,
    spooler_command.cxx:2153-2186). Raises the validator's ``Z-JAVA-105``
    (``method=CallVoidMethodA``, its call of ``CppXmlSchemaValidator.validate``)."""
    tag = root.tag
    if tag not in COMMANDS.keys() | OTHER_GLOBAL_ELEMENTS | {"spooler", "commands", "command"}:
        raise _invalid(f"cvc-elt.1: Cannot find the declaration of element '{tag}'.")
    if tag == "spooler":
        inner = list(root)
        _no_attributes(root)
        if len(inner) != 1:
            raise _invalid(
                "cvc-complex-type.2.4.b: The content of element 'spooler' is not complete."
                if not inner
                else _unexpected(inner[1].tag)
            )
        (root,) = inner
        tag = root.tag
        if tag not in IN_SPOOLER:
            raise _invalid(_unexpected(tag))
    if tag in ("commands", "command", "cluster_member_command"):
        commands = list(root)
        for c in commands:
            if c.tag not in IN_COMMANDS:
                raise _invalid(_unexpected(c.tag))
    else:
        commands = [root]
    for c in commands:
        spec = COMMANDS.get(c.tag)
        if spec is not None:
            _check(c, spec)
    return commands


def _invalid(message: str) -> EngineError:
    return java_exception(sax_error(message), "CallVoidMethodA")


def _unexpected(child: str) -> str:
    return f"cvc-complex-type.2.4.a: Invalid content was found starting with element '{child}'."


def _no_attributes(e: ET.Element) -> None:
    for name in e.attrib:
        if not name.startswith("xmlns"):
            raise _invalid(
                f"cvc-complex-type.3.2.2: Attribute '{name}' is not allowed to appear in"
                f" element '{e.tag}'."
            )


_INTEGER = re.compile(r"^[+-]?\d+$")
_DURATION = re.compile(r"^(\d+(\.\d+)?|\d+:\d{2}(:\d\d)?)$")


def _check(e: ET.Element, spec: Spec) -> None:
    for name, value in e.attrib.items():
        kind = spec.attributes.get(name)
        if kind is None:
            if name.startswith("xmlns") or (spec.any_attribute and ":" in name):
                continue
            raise _invalid(
                f"cvc-complex-type.3.2.2: Attribute '{name}' is not allowed to appear in"
                f" element '{e.tag}'."
            )
        _check_value(e.tag, name, value, kind)
    missing = sorted(spec.required - set(e.attrib))
    if missing:
        raise _invalid(
            f"cvc-complex-type.4: Attribute '{missing[0]}' must appear on element '{e.tag}'."
        )
    if spec.children is None:
        return
    for child in e:
        if child.tag not in spec.children:
            raise _invalid(_unexpected(child.tag))
        sub = spec.children[child.tag]
        if sub is not None:
            _check(child, sub)


def _check_value(tag: str, name: str, value: str, kind: object) -> None:
    if isinstance(kind, tuple):
        if value not in kind:
            raise _invalid(
                f"cvc-enumeration-valid: Value '{value}' is not facet-valid with respect to"
                f" enumeration '[{', '.join(kind)}]'. It must be a value from the enumeration."
            )
        return
    if kind in ("integer", NONNEG, "positiveInteger"):
        ok = bool(_INTEGER.match(value))
        if ok and kind == NONNEG:
            ok = int(value) >= 0
        if ok and kind == "positiveInteger":
            ok = int(value) > 0
        if not ok:
            raise _invalid(
                f"cvc-datatype-valid.1.2.1: '{value}' is not a valid value for '{kind}'."
            )
    elif kind == "duration" and not _DURATION.match(value.strip()):
        # The engine's schema allows whole seconds or HH:MM[:SS]; the
        # reference also takes decimal seconds (what Duration::of parses,
        # spooler_time.cxx:113-127), for the tight reference timing.
        raise _invalid(
            f"cvc-attribute.3: The value '{value}' of attribute '{name}' on element '{tag}'"
            " is not valid with respect to its type, 'Duration'."
        )


def yes(value: str | None, default: bool = False) -> bool:
    """``Element_ptr::bool_getAttribute`` over the schema's Yes_no."""
    if value is None:
        return default
    return value in ("yes", "true", "1")
