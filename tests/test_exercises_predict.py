"""Tests for the "predict, then run" checker (coursekit.exercises.predict)."""

import pytest

from coursekit.exercises import NOT_YET, PASSED, Measured, Prediction, prediction_checker

calls = []


def measure():
    calls.append(1)
    return Measured("up", "the loss went from 1.0 to 2.0.")


check = prediction_checker(Prediction(
    name="toy_prediction", title="predict: the loss", question="Does the loss go up or down?",
    choices=("up", "down", "unchanged"), measure=measure, why="Because the toy says so.",
))


def test_a_matching_prediction_passes_whatever_its_case_and_spaces():
    for answer in ("up", " UP ", "Up"):
        result = check(lambda: answer)
        assert result.passed and repr(result).startswith(PASSED)
        assert "the loss went from 1.0 to 2.0" in repr(result) and "Because the toy says so" in repr(result)


def test_a_wrong_prediction_is_rejected_with_the_evidence_and_the_reason():
    result = check(lambda: "down")
    text = repr(result)
    assert not result.passed and text.startswith(NOT_YET)
    assert 'You predicted "down", but the experiment shows "up"' in text and "Because the toy says so" in text


@pytest.mark.parametrize("answer", ["sideways", 3, None])
def test_an_answer_that_is_not_a_choice_lists_the_choices(answer):
    text = repr(check(lambda: answer))
    assert text.startswith(NOT_YET) and 'Return one of "up", "down", "unchanged"' in text


def test_the_stub_and_a_non_function_get_their_own_feedback():
    def my_toy_prediction():
        raise NotImplementedError('return "up", "down" or "unchanged"')

    assert "haven't implemented" in repr(check(my_toy_prediction))
    assert "Pass the function without calling it" in repr(check("up"))


def test_the_experiment_runs_only_once_the_learner_has_answered():
    calls.clear()
    check(lambda: "sideways")
    assert calls == []
    check(lambda: "up")
    assert calls == [1]


def test_a_broken_experiment_is_reported_as_a_coursekit_bug():
    bad = prediction_checker(Prediction(
        name="bad", title="t", question="q", choices=("a", "b"), measure=lambda: Measured("c", "?"), why="w",
    ))
    assert "bug in coursekit" in repr(bad(lambda: "a"))
    with pytest.raises(ValueError, match="distinct"):
        Prediction(name="x", title="t", question="q", choices=("a", "A"), measure=measure, why="w")
