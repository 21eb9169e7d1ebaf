"""Start options and timing of the JobScheduler 1.x engine."""

import json

import pytest

from components.common.config import ConfigProblem
from components.jobscheduler1 import options
from components.jobscheduler1.options import OptionError


def write_conf(tmp_path, **js1):
    (tmp_path / "config").mkdir(exist_ok=True)
    conf = {"port": 4444, "db": "postgresql://nowhere/x", **js1}
    (tmp_path / "config" / "scheduler.conf").write_text(json.dumps({"js1": conf}))


def load(tmp_path, *args):
    return options.load(["--data-dir", str(tmp_path), *args])


def test_backup_without_exclusive_is_scheduler_368(tmp_path):
    write_conf(tmp_path)
    with pytest.raises(OptionError) as e:
        load(tmp_path, "-backup")
    assert e.value.code == "SCHEDULER-368"
    assert "-backup" in str(e.value) and "-exclusive" in str(e.value)


def test_distributed_orders_with_exclusive_is_scheduler_369(tmp_path):
    write_conf(tmp_path)
    with pytest.raises(OptionError) as e:
        load(tmp_path, "-exclusive", "-distributed-orders")
    assert e.value.code == "SCHEDULER-369"
    assert "-distributed-orders" in str(e.value)


def test_the_config_file_alone_is_validated_too(tmp_path):
    write_conf(tmp_path, backup=True)
    with pytest.raises(OptionError, match="SCHEDULER-368"):
        load(tmp_path)


def test_command_line_wins_and_precedence_defaults(tmp_path):
    write_conf(tmp_path, id="from-file", exclusive=False)
    o = load(tmp_path, "--id", "cli", "-exclusive", "-backup")
    assert (o.scheduler_id, o.exclusive, o.backup, o.precedence) == ("cli", True, True, 1)
    o = load(tmp_path, "-exclusive", "-backup", "-backup-precedence=7", "-id=x")
    assert (o.precedence, o.scheduler_id) == (7, "x")
    assert load(tmp_path, "-exclusive").precedence == 0
    assert load(tmp_path).cluster_mode == "none"
    assert load(tmp_path, "-distributed-orders").cluster_mode == "active"


@pytest.mark.parametrize(
    "args",
    [["-bogus"], ["-backup-precedence=x", "-exclusive", "-backup"], ["--id"]],
)
def test_malformed_command_lines(tmp_path, args):
    write_conf(tmp_path)
    with pytest.raises(OptionError, match="SCHEDULER-OPTION"):
        load(tmp_path, *args)


def test_timeout_below_the_period_is_refused_naming_the_setting(tmp_path):
    write_conf(tmp_path, **{"heartbeat-period": 2, "heartbeat-timeout": 1})
    with pytest.raises(ConfigProblem) as e:
        load(tmp_path)
    assert e.value.setting == "js1.heartbeat-timeout"


def test_missing_database_names_the_setting(tmp_path):
    write_conf(tmp_path, db="")
    with pytest.raises(ConfigProblem) as e:
        load(tmp_path)
    assert e.value.setting == "js1.db"


@pytest.mark.parametrize(("period", "timeout"), [(1.0, 2.0), (60.0, 60.0), (0.2, 0.2), (5, 30)])
def test_fencing_comes_strictly_before_anyone_may_declare_a_member_dead(period, timeout):
    t = options.validate_timing(period, timeout, "test")
    # Dead: database clock past last write + beat + timeout; the last write is
    # no earlier than the send the watchdog counts from.
    dead_after = t.beat + t.timeout
    assert t.fence_after < dead_after
    # Detection of a kill stays inside the documented bound timeout + period.
    assert dead_after + t.tick <= timeout + period
