"""Every exercise is a declarative :class:`~coursekit.exercises.Exercise`; these tests hold for all of them.

Each chapter's tests (test_exercises*.py) show its checkers' hints on learner-style code;
here every spec is checked as data: its reference passes, a namedtuple of a tuple
exercise's outputs passes, each mistake it names really is wrong and is reported,
and no hint asks the learner to use a name that the notebook has not imported
by the time the check runs.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections import namedtuple
from pathlib import Path

import pytest
import torch

import coursekit.exercises as exercises
from coursekit.exercises import NOT_YET, PASSED, Exercise

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parent.parent
ALL_CHECKS = [getattr(exercises, name) for name in exercises.__all__ if name.startswith("check_")]
CHECKERS = [check for check in ALL_CHECKS if hasattr(check, "exercise")]  # code exercises (Exercise specs)
PREDICTIONS = [check for check in ALL_CHECKS if hasattr(check, "prediction")]  # predict-then-run questions
SPECS = [check.exercise for check in CHECKERS]
IDS = [check.__name__ for check in CHECKERS]
TUPLE_SPECS = [spec for spec in SPECS if len(spec.outputs) > 1]


def test_the_public_names_stay():
    before = {"PASSED", "NOT_YET", "CheckResult", "Case", "Mistake", "run_check"}  # the framework's names so far
    checkers = {
        "check_decoder_io", "check_masked_loss", "check_beam_step",
        "check_additive_score", "check_masked_softmax", "check_attention_step",
        "check_attention_pooling", "check_sentence_vectors", "check_tvd_and_jsd",
        "check_scaled_dot_product_attention", "check_split_heads", "check_causal_mask", "check_hopfield_update",
        "check_sinusoidal_encoding", "check_rms_norm", "check_warmup_lr", "check_swiglu",
    }  # fmt: skip
    assert before | checkers <= set(exercises.__all__)
    assert all(hasattr(exercises, name) for name in exercises.__all__)


@pytest.mark.parametrize("check", CHECKERS, ids=IDS)
def test_each_checker_is_its_exercise_spec(check):
    spec = check.exercise
    assert isinstance(spec, Exercise)
    assert check.__name__ == f"check_{spec.name}"
    assert spec.title in (check.__doc__ or "") and spec.signature in check.__doc__


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_reference_passes_for_every_seed(spec):
    for seed in (0, 1, 2):
        result = spec.check(spec.reference, seed=seed)
        assert result.passed and repr(result).startswith(PASSED), repr(result)


def test_the_tuple_exercises():
    """Every exercise that returns several outputs (each is also checked with a namedtuple below)."""
    assert sorted(spec.name for spec in TUPLE_SPECS) == sorted(
        ["decoder_io", "beam_step", "attention_step", "decoder_step", "attention_pooling", "tvd_and_jsd",
         "scaled_dot_product_attention"]
    )


@pytest.mark.parametrize("spec", TUPLE_SPECS, ids=[s.name for s in TUPLE_SPECS])
def test_a_namedtuple_of_the_outputs_passes(spec):
    Outputs = namedtuple("Outputs", [re.sub(r"\W", "_", name) for name in spec.outputs])

    def my_function(*args):
        return Outputs(*spec.reference(*args))

    result = spec.check(my_function)
    assert result.passed, repr(result)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_mistake_is_wrong_and_reported_with_a_hint(spec):
    cases = spec.build_cases(0)
    for mistake in spec.mistakes:
        for wrong in mistake.functions:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                differs = False
                for case in cases:
                    try:
                        got, want = wrong(*case.args), spec.reference(*case.args)
                    except Exception:  # a mistake may not apply to every case
                        continue
                    differs = differs or not exercises.same(got, want)
            assert differs, f"{spec.name}: the mistake {mistake.what!r} gives the reference's answer"
            result = spec.check(wrong)
            assert repr(result).startswith(NOT_YET) and result.hint == mistake.hint, repr(result)


# ----------------------------------------------------------------------------- names the hints suggest
def _public_coursekit_names() -> dict[str, str]:
    """{name: module} for every name a coursekit module exports (a hint may suggest importing one)."""
    names = {}
    modules = ("attention", "classification", "data", "documents", "hopfield", "seq2seq", "train", "transformer", "utils")
    for module in modules:
        mod = importlib.import_module(f"coursekit.{module}")
        names.update({name: module for name in getattr(mod, "__all__", ())})
    return names


# Module aliases a hint might use without saying where they come from.
IMPORTABLE = {"F", "nn", "np", "math", "torch", "coursekit", "functional"}


def _code_names(span: str) -> set[str]:
    """The free names a code span uses (``masked_softmax`` in ``masked_softmax(scores, mask)``)."""
    for text in (span, span.lstrip(".")):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return set()


def _bound_by(source: str) -> set[str]:
    """Names a cell imports or defines (magics and shell lines left out)."""
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return bound


def _notebook_checks():
    """(notebook, checker name, names bound when its check cell runs) for every exercise check."""
    for path in sorted((REPO / "chapters").glob("*.ipynb")):
        bound = set()
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            bound |= _bound_by(source)
            if "exercise-check" in cell.get("metadata", {}).get("tags", []):
                for name in re.findall(r"^(check_\w+)\(", source, flags=re.M):
                    yield path.name, name, set(bound)


NOTEBOOK_CHECKS = list(_notebook_checks())
SPEC_CHECKS = [row for row in NOTEBOOK_CHECKS if hasattr(getattr(exercises, row[1], None), "exercise")]


def test_every_check_is_an_exercise_spec_or_a_prediction():
    assert len(CHECKERS) + len(PREDICTIONS) == len(ALL_CHECKS)


def test_every_checker_is_used_by_a_notebook():
    assert sorted(name for _, name, _ in NOTEBOOK_CHECKS) == sorted(c.__name__ for c in ALL_CHECKS)


@pytest.mark.parametrize("check", PREDICTIONS, ids=[c.__name__ for c in PREDICTIONS])
def test_every_prediction_measures_one_of_its_choices_deterministically(check):
    spec = check.prediction
    first, second = spec.measure(), spec.measure()
    assert first.answer in spec.choices and first == second
    right = check(lambda: first.answer)
    assert right.passed, repr(right)
    for wrong in set(spec.choices) - {first.answer}:
        assert not check(lambda w=wrong: w).passed


@pytest.mark.parametrize("notebook, checker, bound", SPEC_CHECKS, ids=[c for _, c, _ in SPEC_CHECKS])
def test_no_hint_suggests_a_name_the_notebook_has_not_imported(notebook, checker, bound):
    spec = getattr(exercises, checker).exercise
    importable = IMPORTABLE | set(_public_coursekit_names())
    texts = [spec.value_hint or ""] + [t for m in spec.mistakes for t in (m.what, m.hint)]
    for text in texts:
        spans = re.findall(r"`([^`\n]+)`", text)
        imported_here = set().union(*(_bound_by(s) for s in spans if "import " in s))
        used = set().union(*(_code_names(s) for s in spans)) & importable
        missing = used - bound - imported_here - set(spec.arg_names)
        assert not missing, f"{notebook}: {checker} suggests {sorted(missing)} before the notebook imports it:\n{text}"
