"""The subset of JS7's expression language the reference evaluates
(components/common/expression.py); the precedence and the literal forms are
JS7's (js7-data/shared/src/main/scala/js7/data/value/expression/
ExpressionParser.scala:269-370, ExpressionParserTest.scala)."""

from decimal import Decimal

import pytest

from components.common.expression import (
    ExpressionError,
    UnsupportedExpression,
    evaluate,
    evaluate_boolean,
    parse,
)

VARS = {"returnCode": 3, "name": "abc", "flag": True, "n": 1.5, "zero": 0}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("$returnCode >= 3", True),  # IfTest.scala:80
        ("$returnCode == 0", False),
        ("$returnCode != 0", True),
        ("${returnCode} < 4", True),
        ("$name == 'abc'", True),
        ('$name == "abc"', True),
        ("$name < 'abd'", True),
        ("$n > 1 && $n < 2", True),
        ("$zero == 1 || $flag", True),
        ("!$flag", False),
        ("!($returnCode == 3)", False),
        ("1 + 2 * 3 == 7", True),  # * binds tighter than +
        ("1 == 1 && 2 == 3 || true", True),  # && binds tighter than ||
        ("'a' == 1", False),  # values of different types are unequal
        ("true == 1", False),
        ("1 == 1.0", True),
        ("'x-' ++ $returnCode", "x-3"),
        ('"rc=$returnCode, ${name}!"', "rc=3, abc!"),
        ('"tab\\there"', "tab\there"),
        ("'no $interpolation'", "no $interpolation"),
        ("0.003", Decimal("0.003")),  # SleepTest.scala:21
        ("-$returnCode", -3),
        ("10 / 4", Decimal("2.5")),
    ],
)
def test_evaluates_as_js7(text, value):
    assert evaluate(parse(text), VARS) == value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("$x in [1, 2]", "'in'"),
        ("$name matches 'a.*'", "'matches'"),
        ("if true then 1 else 2", "'if'"),
        ("now()", "'now'"),
        ("missing", "'missing'"),
        ("[1, 2]", "unexpected"),
        ("$x ? 1", "unexpected"),
        ("1 +", "unexpected end"),
        ("(1 + 2", "')' expected"),
        ("$a $b", "unexpected"),
        ('"$(1 + 2)"', "$name and ${name} only"),
    ],
)
def test_what_the_reference_does_not_evaluate_is_refused_when_parsed(text, says):
    with pytest.raises(UnsupportedExpression) as err:
        parse(text)
    assert says in str(err.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("$unknown == 1", "No such named value: unknown"),
        ("$name < 1", "types do not compare"),
        ("$returnCode && true", "expects a boolean"),
        ("$name + 1", "expects a number"),
        ("1 / 0", "Division by zero"),
    ],
)
def test_a_wrong_value_at_run_time_is_an_expression_error(text, says):
    with pytest.raises(ExpressionError) as err:
        evaluate(parse(text), VARS)
    assert says in str(err.value)


def test_a_predicate_must_be_boolean():
    with pytest.raises(ExpressionError):
        evaluate_boolean(parse("$returnCode"), VARS)
    assert evaluate_boolean(parse("false || $returnCode == 3"), VARS) is True
