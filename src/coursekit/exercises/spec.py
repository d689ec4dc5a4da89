"""The declarative form of an exercise: an :class:`Exercise` spec, and the one check that runs every spec.

A chapter's checker is data::

    check_causal_mask = checker(Exercise(
        name="causal_mask",                       # the learner writes my_causal_mask; this makes check_causal_mask
        title="causal mask",
        signature="(T)",                          # as the notebook's stub declares it
        reference=causal_mask,
        reference_name="`coursekit.attention.causal_mask`",
        cases=lambda g: [Case(f"T={T}", (T,)) for T in (4, 1, 7)],
        outputs=("mask",),
        mistakes=(Mistake(what="...", hint="...", output=lambda T: ...), ...),
        value_hint="...",
    ))

:meth:`Exercise.check` calls the learner's function on every case (built from a
``torch.Generator`` seeded with ``seed``) and compares it with the reference.
When an output is wrong it asks, in order, whether the output is what a known
:class:`Mistake` produces and, if so, gives that mistake's hint; otherwise it says
what was expected and what was received (type, shape, dtype, values).
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from .calls import TIME_LIMIT, call_learner, call_quietly
from .compare import explain, plain, same
from .feedback import CheckResult, Feedback, capitalized, fn_label, kind, short

__all__ = ["Case", "Mistake", "Exercise", "checker", "run_check"]


@dataclass(frozen=True)
class Case:
    """One call of the learner's function: ``fn(*args)``.

    ``description`` says in a few words what the case is (it appears in the
    feedback); ``names`` names the arguments (for "you changed `scores` in
    place"); an :class:`Exercise` fills them in from its signature.
    """

    description: str
    args: tuple
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer and the hint that fixes it.

    Give ``output``: a function with the learner's signature that makes the
    mistake, or a tuple of such functions (the same mistake written two ways);
    the learner's output is compared with theirs on the same inputs. Or give
    ``test``: a predicate ``test(got, expected, case) -> bool``. ``what``
    describes the symptom; ``hint`` says how to fix it.
    """

    what: str
    hint: str
    output: Callable[..., Any] | tuple[Callable[..., Any], ...] | None = None
    test: Callable[[Any, Any, Case], bool] | None = None

    def __post_init__(self):
        if (self.output is None) == (self.test is None):
            raise ValueError("a Mistake needs exactly one of output= or test=")

    @property
    def functions(self) -> tuple[Callable[..., Any], ...]:
        """The functions that make this mistake (none for a ``test=`` mistake)."""
        if self.output is None:
            return ()
        return self.output if isinstance(self.output, tuple) else (self.output,)

    def matches(self, got: Any, expected: Any, case: Case, *, exact_dtype: bool = False) -> bool:
        """Whether ``got`` shows this mistake (a mistake that raises on this case just doesn't match)."""
        try:
            if self.test is not None:
                return bool(self.test(got, expected, case))
            for make_mistake in self.functions:
                wrong = call_quietly(make_mistake, case.args)
                if same(got, wrong, equal_nan=True, exact_dtype=exact_dtype) and not same(wrong, expected):
                    return True
            return False
        except Exception:
            return False


def _arg_names(signature: str) -> tuple[str, ...]:
    """``"(logits, targets, pad_id=0)"`` -> ``("logits", "targets", "pad_id")``."""
    args = ast.parse(f"def f{signature}: pass").body[0].args
    return tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])


@dataclass(frozen=True)
class Exercise:
    """One exercise's checker, as data.

    name: the learner's function without ``my_`` (``"masked_softmax"``); :func:`checker` names
        the notebook's checker ``check_<name>``.
    title: what the exercise builds, in words (the first line of the result).
    signature: the stub's argument list, ``"(scores, mask)"``; it names the arguments in the feedback.
    reference, reference_name: coursekit's answer, with the learner's signature, and how to cite it.
    cases: ``cases(g) -> [Case, ...]``, the inputs, drawn from the ``torch.Generator`` ``g``.
    outputs: the output's name, or one name per output of a function that returns a tuple.
    mistakes: the plausible wrong answers, tried in order, first match wins.
    value_hint: the hint for wrong values that no mistake explains.
    exact_dtype: True where the exercise asks for one float dtype; otherwise a float32 or
        float64 answer stands for a float reference.
    doc: the learner function's contract (shapes, dtypes), for the checker's docstring.
    """

    name: str
    title: str
    signature: str
    reference: Callable[..., Any]
    reference_name: str
    cases: Callable[[torch.Generator], Sequence[Case]]
    outputs: tuple[str, ...] = ("the output",)
    mistakes: tuple[Mistake, ...] = ()
    value_hint: str | None = None
    exact_dtype: bool = False
    doc: str = ""
    arg_names: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self):
        try:
            names = _arg_names(self.signature)
        except SyntaxError:
            raise ValueError(f"signature {self.signature!r} is not an argument list like '(scores, mask)'") from None
        object.__setattr__(self, "arg_names", names)
        if not isinstance(self.outputs, tuple) or not self.outputs or not all(isinstance(o, str) for o in self.outputs):
            raise ValueError(f"outputs must be a non-empty tuple of names, not {self.outputs!r}")
        if not isinstance(self.mistakes, tuple) or not all(isinstance(m, Mistake) for m in self.mistakes):
            raise ValueError("mistakes must be a tuple of Mistake")
        if not callable(self.reference) or not callable(self.cases):
            raise ValueError("reference and cases must be callable")

    def build_cases(self, seed: int = 0) -> list[Case]:
        """The cases for ``seed``, each with its argument names."""
        with torch.random.fork_rng(devices=[]):
            cases = list(self.cases(torch.Generator().manual_seed(seed)))
        return [c if c.names else Case(c.description, c.args, self.arg_names) for c in cases]

    def check(self, fn: Any, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
        """Compare ``fn`` with the reference on every case; return the first problem, kindly, or a pass.

        Never raises: a bug in the checker is reported as one, not as the learner's fault.
        """
        try:
            return self._check(fn, seed, time_limit)
        except Feedback as fb:
            return CheckResult(False, self.title, fb.message, fb.hint)
        except Exception as exc:  # a bug in the checker must not look like the learner's fault, nor crash the notebook
            return CheckResult(
                False,
                self.title,
                f"The checker itself failed ({type(exc).__name__}: {short(exc)}). This is a bug in coursekit, "
                "not necessarily in your code; please report it.",
                None,
            )

    def _check(self, fn: Any, seed: int, time_limit: float | None) -> CheckResult:
        if not callable(fn):
            raise Feedback(
                f"The check needs your function itself, but it received {kind(fn)}.",
                "Pass the function without calling it: `check_x(my_x)`, not `check_x(my_x(...))`.",
            )
        label = fn_label(fn)
        call_name = getattr(fn, "__name__", "fn")
        call_name = "fn" if call_name == "<lambda>" else call_name
        cases = self.build_cases(seed)
        self._check_signature(fn, cases, label, call_name)
        for i, case in enumerate(cases):
            where = f"case {i + 1} of {len(cases)} ({case.description})"
            expected = call_quietly(self.reference, case.args)
            got = plain(
                call_learner(
                    fn, case.args, case.names, label=label, where=where, call=f"{call_name}{self.signature}",
                    time_limit=time_limit,
                )
            )
            if same(got, expected, exact_dtype=self.exact_dtype):
                continue
            for mistake in self.mistakes:
                if mistake.matches(got, expected, case, exact_dtype=self.exact_dtype):
                    raise Feedback(f"On {where}: {mistake.what}", mistake.hint)
            what, hint = self._explain(got, expected, label)
            raise Feedback(f"On {where}: {what}", hint)
        return CheckResult(
            True,
            self.title,
            f"{capitalized(label)} agrees with {self.reference_name} on all {len(cases)} test cases.",
            None,
        )

    def _check_signature(self, fn: Any, cases: list[Case], label: str, call_name: str) -> None:
        try:
            params = inspect.signature(fn)
        except (TypeError, ValueError):  # builtins and some callables have no signature: just call them
            return
        if cases:
            try:
                params.bind(*cases[0].args)
            except TypeError as exc:
                raise Feedback(
                    f"{capitalized(label)} can't be called with the arguments {self.signature}: {exc}.",
                    f"Declare it as in the exercise: `def {call_name}{self.signature}:`.",
                ) from None

    def _explain(self, got: Any, expected: Any, label: str) -> tuple[str, str | None]:
        """What is wrong with an output that no mistake explains: the whole output first, then each part."""
        tuple_out = len(self.outputs) > 1
        whole = label if tuple_out else f"The output of {label}"
        problem = explain(got, expected, whole, self.value_hint, exact_dtype=self.exact_dtype)
        if problem is None and tuple_out:
            for name, g, w in zip(self.outputs, got, expected):
                problem = explain(g, w, f"`{name}`", self.value_hint, exact_dtype=self.exact_dtype)
                if problem is not None:
                    break
        # same() and explain() disagree only on exotic outputs
        return problem or (f"the output of {label} differs from {self.reference_name}.", self.value_hint)


def checker(exercise: Exercise) -> Callable[..., CheckResult]:
    """The notebook's ``check_<name>(fn, *, seed=0, time_limit=TIME_LIMIT)`` for ``exercise``.

    The checker keeps its spec as ``.exercise``.
    """

    def check(fn: Any, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
        return exercise.check(fn, seed=seed, time_limit=time_limit)

    check.__name__ = check.__qualname__ = f"check_{exercise.name}"
    check.__module__ = "coursekit.exercises"
    contract = f"\n\n{inspect.cleandoc(exercise.doc)}" if exercise.doc else ""
    check.__doc__ = (
        f"Check ``my_{exercise.name}{exercise.signature}`` ({exercise.title}) against "
        f"{exercise.reference_name}.{contract}\n\n"
        "Returns a CheckResult (``✅ Passed`` or ``❌ Not yet`` with a hint); never raises. ``seed`` draws "
        "other cases; ``time_limit`` is in seconds per call."
    )
    check.exercise = exercise
    return check


def run_check(
    title: str,
    fn: Any,
    *,
    signature: str,
    cases: Sequence[Case],
    reference: Callable[..., Any],
    reference_name: str,
    outputs: Sequence[str] = ("the output",),
    mistakes: Sequence[Mistake] = (),
    value_hint: str | None = None,
    time_limit: float | None = TIME_LIMIT,
) -> CheckResult:
    """Check ``fn`` on the given ``cases``: an :class:`Exercise` made on the spot, for a one-off check.

    Prefer an :class:`Exercise` with :func:`checker` for a chapter's exercise.
    """
    spec = Exercise(
        name="",
        title=title,
        signature=signature,
        reference=reference,
        reference_name=reference_name,
        cases=lambda g: cases,
        outputs=tuple(outputs),
        mistakes=tuple(mistakes),
        value_hint=value_hint,
    )
    return spec.check(fn, time_limit=time_limit)
