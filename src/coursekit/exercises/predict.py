""""Predict, then run" questions: the learner commits to an outcome before an experiment, and the
check compares the prediction with what a small experiment actually measures.

A chapter's prediction is data::

    check_scaling_prediction = prediction_checker(Prediction(
        name="scaling_prediction",
        title="predict: what happens to the softmax without 1/sqrt(d_k)?",
        question="As d_k grows, unscaled softmax weights become ...",
        choices=("flatter", "peakier", "unchanged"),
        measure=measure_peakiness,        # () -> Measured(answer="peakier", evidence="...")
        why="Dot products of d_k unit-variance terms have variance d_k ...",
    ))

The stub is a function returning one of the choices (so the course's stub / check /
solution pattern holds)::

    def my_scaling_prediction():
        raise NotImplementedError('return "flatter", "peakier" or "unchanged"')

The check calls it, runs ``measure`` (a coursekit function that measures the effect at
small scale in well under a second, with its own seed), and says whether the prediction
matches, showing the evidence either way. Answers are compared without regard to case or
surrounding spaces; an answer that is not one of the choices gets a hint listing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .calls import TIME_LIMIT, call_learner
from .feedback import CheckResult, Feedback, capitalized, fn_label, kind, short

__all__ = ["Measured", "Prediction", "prediction_checker"]


@dataclass(frozen=True)
class Measured:
    """What an experiment measured: ``answer`` is one of the prediction's choices; ``evidence``
    says in a sentence what was measured (the numbers), for the feedback."""

    answer: str
    evidence: str


@dataclass(frozen=True)
class Prediction:
    """A "predict, then run" question: ``choices`` are the possible outcomes, ``measure`` runs the
    experiment and returns :class:`Measured`, ``why`` explains the outcome (shown once the learner
    has answered, right or wrong)."""

    name: str
    title: str
    question: str
    choices: tuple[str, ...]
    measure: Callable[[], Measured]
    why: str

    def __post_init__(self):
        if len(self.choices) < 2 or len({c.strip().lower() for c in self.choices}) != len(self.choices):
            raise ValueError(f"choices must be at least two distinct answers, got {self.choices!r}")

    def _normalise(self, answer: Any) -> str | None:
        if not isinstance(answer, str):
            return None
        wanted = answer.strip().lower()
        return next((c for c in self.choices if c.lower() == wanted), None)

    def check(self, fn: Any, *, time_limit: float | None = TIME_LIMIT) -> CheckResult:
        try:
            return self._check(fn, time_limit)
        except Feedback as fb:
            return CheckResult(False, self.title, fb.message, fb.hint)
        except Exception as exc:  # a bug in the experiment must not look like the learner's fault
            return CheckResult(
                False, self.title,
                f"The checker itself failed ({type(exc).__name__}: {short(exc)}). This is a bug in coursekit, "
                "not in your answer; please report it.",
            )

    def _check(self, fn: Any, time_limit: float | None) -> CheckResult:
        options = ", ".join(f'"{c}"' for c in self.choices)
        if not callable(fn):
            raise Feedback(
                f"The check needs your function itself, but it received {kind(fn)}.",
                f"Pass the function without calling it: `check_{self.name}(my_{self.name})`.",
            )
        label = fn_label(fn)
        call_name = getattr(fn, "__name__", "fn")
        got = call_learner(fn, (), (), label=label, where="your prediction", call=f"{call_name}()", time_limit=time_limit)
        answer = self._normalise(got)
        if answer is None:
            raise Feedback(
                f"{capitalized(label)} returned {kind(got)}, which is not one of the answers.",
                f"Return one of {options}: the outcome you expect, before you run the experiment.",
            )
        measured = self.measure()
        if measured.answer not in self.choices:
            raise ValueError(f"measure() returned {measured.answer!r}, not one of {self.choices}")
        if answer == measured.answer:
            return CheckResult(True, self.title, f'You predicted "{answer}", and that is what the experiment shows: '
                               f"{measured.evidence}\n{self.why}")
        return CheckResult(
            False, self.title,
            f'You predicted "{answer}", but the experiment shows "{measured.answer}": {measured.evidence}',
            f"{self.why} Run the experiment below and see whether it changes your mind.",
        )


def prediction_checker(prediction: Prediction) -> Callable[..., CheckResult]:
    """The notebook's ``check_<name>(fn)`` for ``prediction``; never raises. Keeps its spec as ``.prediction``."""

    def check(fn: Any, *, time_limit: float | None = TIME_LIMIT) -> CheckResult:
        return prediction.check(fn, time_limit=time_limit)

    check.__name__ = check.__qualname__ = f"check_{prediction.name}"
    check.__module__ = "coursekit.exercises"
    options = ", ".join(f'"{c}"' for c in prediction.choices)
    check.__doc__ = (
        f"Predict, then run: {prediction.question} Check ``my_{prediction.name}()`` (returns one of {options}) "
        "against what a small experiment measures. Returns a CheckResult; never raises."
    )
    check.prediction = prediction
    return check
