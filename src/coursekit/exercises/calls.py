"""Calling the learner's function safely: on copies of the inputs, with a time limit, the global RNG kept.

:func:`call_learner` runs ``fn(*args)`` once and returns its output, or raises
:class:`~coursekit.exercises.feedback.Feedback` when the function raised (see
:mod:`~coursekit.exercises.errors` for what each exception means), ran too
long, or changed its inputs in place.
"""

from __future__ import annotations

import copy
import signal
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import torch

from .errors import exception_feedback
from .feedback import Feedback, capitalized

__all__ = ["TIME_LIMIT"]

TIME_LIMIT = 5.0  # seconds per call; every case is tiny, so a correct answer takes milliseconds


class _TimeUp(BaseException):
    """Raised by the alarm in a learner's function that runs too long.

    A BaseException, so the learner's own ``except Exception`` cannot swallow it.
    """


def clone(x: Any) -> Any:
    """A deep copy of tensors and containers; functions are passed as they are."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, tuple):
        return tuple(clone(v) for v in x)
    if isinstance(x, list):
        return [clone(v) for v in x]
    if callable(x):
        return x
    return copy.deepcopy(x)


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, torch.Tensor):
        return (
            isinstance(after, torch.Tensor)
            and after.shape == before.shape
            and after.dtype == before.dtype
            and torch.equal(after.detach().cpu(), before)
        )
    if isinstance(before, (list, tuple)):
        return (
            isinstance(after, (list, tuple))
            and len(after) == len(before)
            and all(_unchanged(b, a) for b, a in zip(before, after))
        )
    if callable(before):
        return True
    return before == after


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM, main thread on Unix only); else do nothing.

    An alarm that someone else (say pytest-timeout) already set is put back
    afterwards with the time it had left, and left alone if it is due sooner.
    """
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if usable:
        pending, _ = signal.getitimer(signal.ITIMER_REAL)
        usable = pending == 0.0 or pending > seconds
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise _TimeUp

    start = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, _alarm)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_timer[0] > 0:
            left = max(previous_timer[0] - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_timer[1])


def call_quietly(fn: Callable[..., Any], args: tuple) -> Any:
    """``fn`` on a copy of ``args``, without gradients and leaving the global RNG as it was (for coursekit's code)."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        return fn(*clone(args))


def call_learner(
    fn: Callable[..., Any],
    args: tuple,
    names: Sequence[str],
    *,
    label: str,
    where: str,
    call: str,
    time_limit: float | None,
) -> Any:
    """Run the learner's function on a copy of ``args``; turn every way it can fail into :class:`Feedback`.

    ``label`` names the function in the feedback, ``where`` names the case, ``call`` shows the call
    (``my_x(scores, mask)``), ``names`` names the arguments.
    """
    copies = clone(args)
    start = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[]), _time_limit(time_limit):
            out = fn(*copies)
    except _TimeUp:
        raise Feedback(
            f"{capitalized(label)} was still running after {time_limit:g} s on {where}, so the check stopped it.",
            "These inputs are tiny, so a correct answer takes milliseconds. Look for a loop that never ends, "
            "or a Python loop over every element where one tensor operation would do.",
        ) from None
    except Exception as exc:  # the learner's code may raise anything: report it, never crash the notebook
        raise exception_feedback(exc, fn, label=label, where=where, call=call) from None
    elapsed = time.perf_counter() - start
    if time_limit is not None and elapsed > time_limit:
        raise Feedback(
            f"{capitalized(label)} took {elapsed:.1f} s on {where}; the limit is {time_limit:g} s.",
            "These inputs are tiny, so a correct answer takes milliseconds. Replace Python loops over "
            "elements with tensor operations.",
        )
    for name, before, after in zip(names or [f"argument {i + 1}" for i in range(len(args))], args, copies):
        if not _unchanged(before, after):
            raise Feedback(
                f"{capitalized(label)} changed its input `{name}` in place on {where}.",
                "A function like this should leave its inputs as they were: use out-of-place operations "
                "(`x.masked_fill(...)`, not `x.masked_fill_(...)`; `x = x + 1`, not `x += 1`; "
                "build a new list rather than `.append` to the one you were given).",
            )
    return out
