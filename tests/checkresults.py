"""The two assertions every checker test makes about a CheckResult (shared by tests/test_exercises*.py)."""

from coursekit.exercises import NOT_YET, PASSED, CheckResult


def assert_passed(result):
    assert isinstance(result, CheckResult)
    assert result.passed and bool(result), repr(result)
    assert repr(result).splitlines()[0].startswith(PASSED)


def assert_not_yet(result, *phrases):
    assert isinstance(result, CheckResult)
    assert not result.passed and not bool(result), repr(result)
    text = repr(result)
    assert text.splitlines()[0].startswith(NOT_YET)
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
