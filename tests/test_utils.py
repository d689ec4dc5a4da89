"""Tests for coursekit.utils: seeding, the scale knob, and input validation."""

import random

import numpy as np
import pytest
import torch

from coursekit.utils import (
    at_scale,
    check_choice,
    check_positive,
    check_tensor,
    choose_scale,
    get_device,
    in_colab,
    seed_everything,
)


def _draw():
    return (random.random(), float(np.random.rand()), torch.rand(3))


# ------------------------------------------------------------------ seeding
def test_seed_everything_makes_python_numpy_and_torch_reproducible():
    seed_everything(123)
    a = _draw()
    seed_everything(123)
    b = _draw()
    assert a[0] == b[0]
    assert a[1] == b[1]
    torch.testing.assert_close(a[2], b[2], atol=0, rtol=0)
    seed_everything(124)
    c = _draw()
    assert c[0] != a[0] and c[1] != a[1] and not torch.equal(c[2], a[2])


def test_seed_everything_returns_a_generator_seeded_the_same_way():
    g = seed_everything(7)
    reference = torch.rand(4, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(torch.rand(4, generator=g), reference, atol=0, rtol=0)
    # and the global generator was seeded with the same number
    torch.testing.assert_close(torch.rand(4), reference, atol=0, rtol=0)


def test_seed_everything_accepts_seeds_beyond_numpys_range():
    seed_everything(2**40)  # numpy only takes 32-bit seeds; coursekit reduces it
    x = np.random.rand()
    seed_everything(2**40)
    assert np.random.rand() == x


@pytest.mark.parametrize("bad", [1.5, "0", True, None])
def test_seed_everything_rejects_non_int(bad):
    with pytest.raises(ValueError, match=r"seed must be an int, got"):
        seed_everything(bad)


# ------------------------------------------------------------------ device
def test_get_device_honours_prefer_and_defaults_to_an_available_device():
    assert get_device("cpu") == torch.device("cpu")
    dev = get_device()
    assert isinstance(dev, torch.device)
    if not torch.cuda.is_available():
        assert dev.type in ("cpu", "mps")


def test_in_colab_reads_the_environment(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    import sys

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20260101")
    assert in_colab() is True


# ------------------------------------------------------------------ scale knob
def test_choose_scale_follows_the_device(monkeypatch):
    monkeypatch.delenv("COURSEKIT_SCALE", raising=False)
    assert choose_scale() == "cpu"
    assert choose_scale("cpu") == "cpu"
    assert choose_scale(torch.device("cpu")) == "cpu"
    assert choose_scale("cuda") == "gpu"
    assert choose_scale(torch.device("cuda", 0)) == "gpu"
    assert choose_scale("mps") == "cpu"


@pytest.mark.parametrize("value, expected", [("gpu", "gpu"), ("cpu", "cpu"), (" GPU ", "gpu"), ("Cpu", "cpu")])
def test_choose_scale_respects_the_environment_override(monkeypatch, value, expected):
    monkeypatch.setenv("COURSEKIT_SCALE", value)
    assert choose_scale("cpu") == expected
    assert choose_scale("cuda") == expected
    assert choose_scale() == expected


def test_choose_scale_empty_override_is_ignored(monkeypatch):
    monkeypatch.setenv("COURSEKIT_SCALE", "")
    assert choose_scale("cuda") == "gpu"


def test_choose_scale_rejects_a_bad_override(monkeypatch):
    monkeypatch.setenv("COURSEKIT_SCALE", "tpu")
    with pytest.raises(ValueError, match=r"COURSEKIT_SCALE must be one of \('cpu', 'gpu'\), got 'tpu'"):
        choose_scale()


def test_at_scale_picks_the_value():
    assert at_scale("cpu", cpu=1, gpu=2) == 1
    assert at_scale("gpu", cpu=1, gpu=2) == 2
    assert at_scale("gpu", cpu=[1], gpu=None) is None
    with pytest.raises(ValueError, match=r"scale must be one of \('cpu', 'gpu'\), got 'GPU'"):
        at_scale("GPU", cpu=1, gpu=2)
    with pytest.raises(TypeError):
        at_scale("cpu", 1, 2)  # keyword-only: the call site names both sizes


# ------------------------------------------------------------------ validation
def test_check_choice_and_check_positive():
    check_choice("cell", "gru", ("gru", "lstm"))
    with pytest.raises(ValueError, match=r"cell must be one of \('gru', 'lstm'\), got 'rnn'"):
        check_choice("cell", "rnn", ("gru", "lstm"))
    check_positive("n", 3)
    check_positive("n", 0, allow_zero=True)
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"n must be a positive int, got"):
            check_positive("n", bad)
    with pytest.raises(ValueError, match=r"n must be a non-negative int, got -1"):
        check_positive("n", -1, allow_zero=True)


def test_check_tensor_binds_named_dims():
    dims = check_tensor("x", torch.zeros(2, 5, 7), shape=("B", "S", None), dtype=torch.float32)
    assert dims == {"B": 2, "S": 5}
    dims = check_tensor("y", torch.zeros(2, 3, dtype=torch.long), shape=("B", 3), dtype=torch.long, dims=dims)
    assert dims == {"B": 2, "S": 5}
    # "float" accepts any floating dtype; a tuple accepts any of its dtypes
    check_tensor("x", torch.zeros(1, dtype=torch.float64), dtype="float")
    check_tensor("x", torch.zeros(1, dtype=torch.int32), dtype=(torch.long, torch.int32))


def test_check_tensor_messages_name_expected_and_received():
    with pytest.raises(ValueError, match=r"src must be a torch.Tensor, got list"):
        check_tensor("src", [[1, 2]])
    with pytest.raises(ValueError, match=r"src must have dtype torch.int64, got torch.float32"):
        check_tensor("src", torch.zeros(2, 3), dtype=torch.long)
    with pytest.raises(ValueError, match=r"must have dtype torch.int64 or torch.int32, got torch.float32"):
        check_tensor("src", torch.zeros(2, 3), dtype=(torch.long, torch.int32))
    with pytest.raises(ValueError, match=r"logits must have a floating dtype, got torch.int64"):
        check_tensor("logits", torch.zeros(2, dtype=torch.long), dtype="float")
    with pytest.raises(ValueError, match=r"src must have shape \(B, S\), got a 3-d tensor of shape \(2, 5, 7\)"):
        check_tensor("src", torch.zeros(2, 5, 7), shape=("B", "S"))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 4\), got \(2, 3\) \(dim 1 should be 4\)"):
        check_tensor("x", torch.zeros(2, 3), shape=("B", 4))
    with pytest.raises(ValueError, match=r"tgt must have shape \(B, T\) with B=2, got \(3, 4\)"):
        check_tensor("tgt", torch.zeros(3, 4), shape=("B", "T"), dims={"B": 2})
    with pytest.raises(ValueError, match=r"x must have shape \(S, S\) with S=2, got \(2, 3\)"):
        check_tensor("x", torch.zeros(2, 3), shape=("S", "S"))
    with pytest.raises(ValueError, match=r"must have shape \(\*, 3\)"):
        check_tensor("x", torch.zeros(2, 4), shape=(None, 3))


def test_get_device_sets_cpu_threads_and_rejects_bad_counts():
    n = torch.get_num_threads()
    try:
        assert get_device("cpu", cpu_threads=1) == torch.device("cpu")
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        get_device("cpu", cpu_threads=None)  # leaves torch's setting alone
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(n)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="cpu_threads"):
            get_device("cpu", cpu_threads=bad)


# ------------------------------------------------------------------ numbers, bools, ids, eval mode
def test_check_int_and_real_accept_numpy_and_reject_strings_none_bools():
    from coursekit.utils import check_bool, check_int, check_real

    check_int("n", np.int64(3), min=1)
    check_real("p", np.float32(0.5), low=0.0, high=1.0)
    check_real("p", 1, low=0.0)
    check_bool("b", np.bool_(True))
    for bad, match in [("3", "n must be a positive int, got '3'"), (True, "got True"), (2.0, "got 2.0")]:
        with pytest.raises(ValueError, match=match):
            check_int("n", bad, min=1)
    for bad, match in [("0.1", r"p must be a real number in \[0, 1\), got '0.1' \(str\)"),
                       (None, r"got None \(NoneType\)"), (float("nan"), "got nan"), (1.0, r"p must be in \[0, 1\), got 1.0")]:
        with pytest.raises(ValueError, match=match):
            check_real("p", bad, low=0.0, high=1.0, high_open=True)
    with pytest.raises(ValueError, match="b must be True or False, got 0"):
        check_bool("b", 0)


def test_check_ids_names_the_range_and_what_it_got():
    from coursekit.utils import check_ids

    check_ids("src ids", torch.tensor([[0, 4]]), 5)
    check_ids("src ids", torch.zeros(0, 3, dtype=torch.long), 5)  # empty is fine
    with pytest.raises(ValueError, match=r"src ids must be in \[0, 5\), got values in \[-1, 5\]"):
        check_ids("src ids", torch.tensor([[-1, 5]]), 5)


def test_eval_mode_restores_the_previous_mode_even_after_an_error():
    from coursekit.utils import eval_mode

    model = torch.nn.Sequential(torch.nn.Dropout(0.5))
    with eval_mode(model) as m:
        assert m is model and not model.training
    assert model.training
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training
    model.train()
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            raise RuntimeError("boom")
    assert model.training
