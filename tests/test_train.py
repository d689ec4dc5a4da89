"""Tests for coursekit.train: the loop, History, early stopping, and exact checkpoint/resume."""

import math

import pytest
import torch
from torch import nn

from coursekit.data import BatchSampler, copy_task
from coursekit.seq2seq import Seq2Seq, Seq2SeqConfig, sequence_loss
from coursekit.train import EarlyStopping, History, fit, load_checkpoint, save_checkpoint
from coursekit.utils import seed_everything


pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ a tiny regression problem
def _regression(seed=0):
    seed_everything(seed)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3
    model = nn.Linear(3, 1)

    def batches(step):
        i = (step * 16) % 64
        return x[i : i + 16], y[i : i + 16]

    def loss_fn(m, batch):
        xb, yb = batch
        return ((m(xb).squeeze(-1) - yb) ** 2).mean()

    return model, batches, loss_fn


def test_fit_drives_the_loss_down_and_logs_rows():
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []
    h = fit(model, opt, batches, loss_fn, 40, log_every=10, eval_every=20, progress=False,
            eval_fn=lambda m: {"loss": loss_fn(m, batches(0)).item(), "training": float(m.training)},
            callback=lambda step, loss: calls.append((step, loss)))
    steps, losses = h.curve("loss")
    assert steps == [10, 20, 30, 40]
    assert losses[-1] < 0.1 * losses[0]
    assert [s for s, _ in calls] == list(range(1, 41))
    assert all(isinstance(v, float) and math.isfinite(v) for _, v in calls)
    # each train row is the mean of the per-step losses since the previous row
    assert losses[0] == pytest.approx(sum(v for _, v in calls[:10]) / 10)
    assert h.curve("loss", "eval")[0] == [20, 40]
    assert h.curve("training", "eval")[1] == [0.0, 0.0]  # eval_fn runs in eval mode
    assert not model.training  # fit leaves the model in eval mode
    assert h.seconds > 0 and not h.stopped_early


def test_fit_evaluates_at_the_end_and_logs_the_last_step():
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    h = fit(model, opt, batches, loss_fn, 13, log_every=5, eval_every=10, progress=False,
            eval_fn=lambda m: {"mse": 1.0})
    assert h.curve("loss")[0] == [5, 10, 13]
    assert h.curve("mse", "eval")[0] == [10, 13]


def test_fit_trains_in_train_mode_and_steps_the_scheduler():
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    modes = []

    def loss(m, batch):
        modes.append(m.training)
        return loss_fn(m, batch)

    fit(model.eval(), opt, batches, loss, 4, progress=False, clip_grad_norm=None)
    assert modes == [True] * 4
    fit(model, opt, batches, loss_fn, 3, progress=False, scheduler=sched)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5**3)


def test_fit_clips_the_gradient_norm():
    model, batches, loss_fn = _regression()
    before = torch.cat([p.detach().flatten() for p in model.parameters()]).clone()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(model, opt, batches, loss_fn, 1, progress=False, clip_grad_norm=1e-3)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm() <= 1e-3 + 1e-7  # one SGD step of a clipped gradient


def test_fit_moves_batches_that_have_to():
    seen = []

    class B:
        def to(self, device):
            seen.append(torch.device(device))
            return self

    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, opt, lambda step: B(), lambda m, b: m.weight.sum() ** 2, 2, progress=False)
    assert seen == [torch.device("cpu")] * 2


def test_nan_loss_raises():
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def bad_loss(m, batch):
        return loss_fn(m, batch) * float("nan")

    with pytest.raises(ValueError, match=r"the loss became nan at step 1; lower the learning rate"):
        fit(model, opt, batches, bad_loss, 5, progress=False)
    with pytest.raises(ValueError, match=r"the loss became inf at step 1"):
        fit(model, opt, batches, lambda m, b: loss_fn(m, b) + float("inf"), 5, progress=False)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(steps=0), r"steps must be a positive int, got 0"),
        (dict(steps=5, eval_every=0), r"eval_every must be a positive int, got 0"),
        (dict(steps=5, log_every=-1), r"log_every must be a positive int, got -1"),
        (dict(steps=5, checkpoint_every=0), r"checkpoint_every must be a positive int, got 0"),
    ],
)
def test_fit_rejects_bad_arguments(kw, message):
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = kw.pop("steps")
    with pytest.raises(ValueError, match=message):
        fit(model, opt, batches, loss_fn, steps, progress=False, **kw)


# ------------------------------------------------------------------ History
def test_history_curve_last_first_step_reaching_and_records():
    h = History(rows=[
        {"step": 10, "split": "train", "loss": 2.0},
        {"step": 10, "split": "eval", "loss": 1.5, "acc": 0.2},
        {"step": 20, "split": "train", "loss": 1.0},
        {"step": 20, "split": "eval", "loss": 0.9, "acc": 0.6},
        {"step": 30, "split": "eval", "loss": 0.8, "acc": 0.95},
    ])
    assert h.curve("loss") == ([10, 20], [2.0, 1.0])
    assert h.curve("acc", "eval") == ([10, 20, 30], [0.2, 0.6, 0.95])
    assert h.curve("acc") == ([], [])
    assert h.last("loss") == 0.8
    assert h.last("loss", "train") == 1.0
    with pytest.raises(ValueError, match=r"no 'eval' rows with 'bleu' in this history"):
        h.last("bleu")
    assert h.first_step_reaching("acc", 0.6) == 20  # >= target
    assert h.first_step_reaching("acc", 0.9) == 30
    assert h.first_step_reaching("acc", 0.99) is None
    recs = h.records(model="attention")
    assert len(recs) == 5 and all(r["model"] == "attention" for r in recs)
    assert recs[0] == {"step": 10, "split": "train", "loss": 2.0, "model": "attention"}
    assert "model" not in h.rows[0]  # records copies, does not mutate


# ------------------------------------------------------------------ EarlyStopping
def test_should_stop_with_target():
    assert not EarlyStopping(target=0.5, patience=None).should_stop([])
    es = EarlyStopping(metric="loss", mode="min", target=0.5, patience=None)
    assert not es.should_stop([1.0, 0.7])
    assert es.should_stop([1.0, 0.5])  # reached
    assert es.should_stop([1.0, 0.3])  # passed
    es = EarlyStopping(metric="acc", mode="max", target=0.9, patience=None)
    assert not es.should_stop([0.5, 0.89])
    assert es.should_stop([0.5, 0.9])
    assert not es.should_stop([0.95, 0.5])  # only the latest value counts


def test_should_stop_with_patience():
    es = EarlyStopping(mode="min", patience=2)
    assert not es.should_stop([1.0, 1.0])  # not enough evaluations yet
    assert es.should_stop([1.0, 1.0, 1.0])  # two evaluations without improvement
    assert not es.should_stop([1.0, 1.1, 0.9])  # improved within the window
    assert es.should_stop([1.0, 0.8, 0.9, 0.85])  # best 0.8 not beaten for 2 evaluations
    assert not es.should_stop([1.0, 0.8, 0.9, 0.7])
    es = EarlyStopping(metric="acc", mode="max", patience=1)
    assert es.should_stop([0.1, 0.5, 0.5])
    assert not es.should_stop([0.1, 0.5, 0.6])
    assert not EarlyStopping(patience=None).should_stop([1.0] * 50)


def test_early_stopping_config_errors():
    with pytest.raises(ValueError, match=r"mode must be one of \('min', 'max'\), got 'up'"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match=r"patience must be a positive int, got 0"):
        EarlyStopping(patience=0)


def _scripted_eval(values):
    values = iter(values)
    return lambda m: {"acc": next(values)}


def test_fit_stops_when_the_target_is_reached(tmp_path):
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    trained = []
    h = fit(model, opt, batches, loss_fn, 100, eval_every=5, progress=False,
            eval_fn=_scripted_eval([0.1, 0.5, 0.95, 0.99]), checkpoint_dir=tmp_path, checkpoint_every=1000,
            early_stopping=EarlyStopping(metric="acc", mode="max", target=0.9, patience=None),
            callback=lambda step, loss: trained.append(step))
    assert h.stopped_early
    assert h.curve("acc", "eval")[0] == [5, 10, 15]
    assert trained[-1] == 15  # nothing trained after the stop
    assert torch.load(tmp_path / "trainer.pt", weights_only=True)["step"] == 15  # saved at the stop


def test_fit_stops_on_a_plateau():
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    h = fit(model, opt, batches, loss_fn, 100, eval_every=5, progress=False,
            eval_fn=_scripted_eval([0.5, 0.6, 0.6, 0.55, 0.6, 0.9]),
            early_stopping=EarlyStopping(metric="acc", mode="max", patience=3))
    assert h.stopped_early
    assert h.curve("acc", "eval")[0] == [5, 10, 15, 20, 25]  # best at step 10, then 3 without improvement


def test_rerunning_an_early_stopped_run_trains_no_further(tmp_path):
    def run():
        model, batches, loss_fn = _regression()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        h = fit(model, opt, batches, loss_fn, 100, eval_every=5, progress=False, checkpoint_dir=tmp_path,
                eval_fn=lambda m: {"acc": 1.0}, early_stopping=EarlyStopping(metric="acc", mode="max", target=0.9))
        return model, h

    m1, h1 = run()
    m2, h2 = run()  # e.g. a notebook executed again with its checkpoint directory still there
    assert h1.stopped_early and h2.stopped_early
    assert h2.rows == h1.rows
    torch.testing.assert_close(m2.state_dict(), m1.state_dict(), atol=0, rtol=0)


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_files_load_safely(tmp_path):
    model, batches, loss_fn = _regression()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 / (1 + s))
    fit(model, opt, batches, loss_fn, 6, eval_every=3, eval_fn=lambda m: {"x": 1.0}, progress=False,
        checkpoint_dir=tmp_path, checkpoint_every=4, scheduler=sched)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors", "trainer.pt"]
    state = torch.load(tmp_path / "trainer.pt", weights_only=True)  # plain values and tensors only
    assert state["step"] == 6
    assert state["rows"][-1]["step"] == 6
    assert "optimizer" in state and "scheduler" in state and state["rng_cpu"].dtype == torch.uint8
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "model.safetensors"))
    torch.testing.assert_close(weights, model.state_dict(), atol=0, rtol=0)
    fresh = nn.Linear(3, 1)
    trainer = load_checkpoint(tmp_path, fresh)
    torch.testing.assert_close(fresh.state_dict(), model.state_dict(), atol=0, rtol=0)
    assert trainer["step"] == 6


def test_save_and_load_checkpoint_without_trainer_state(tmp_path):
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path / "ck", model)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["model.safetensors"]
    fresh = nn.Linear(2, 2)
    assert load_checkpoint(tmp_path / "ck", fresh) is None
    torch.testing.assert_close(fresh.state_dict(), model.state_dict(), atol=0, rtol=0)
    with pytest.raises(ValueError, match=r"no checkpoint at .*missing \(expected .*model.safetensors\)"):
        load_checkpoint(tmp_path / "missing", fresh)


def test_save_checkpoint_handles_tied_weights(tmp_path):
    model = nn.Sequential(nn.Embedding(5, 4), nn.Linear(4, 5, bias=False))
    model[1].weight = model[0].weight  # tied, as in a language model
    save_checkpoint(tmp_path, model)
    fresh = nn.Sequential(nn.Embedding(5, 4), nn.Linear(4, 5, bias=False))
    load_checkpoint(tmp_path, fresh)
    torch.testing.assert_close(fresh[1].weight, model[0].weight, atol=0, rtol=0)


class Interrupt(Exception):
    pass


def _seq2seq_run(checkpoint_dir, *, steps=12, interrupt_at=None, log_every=3, checkpoint_every=5):
    """A Seq2Seq run that uses the global RNG everywhere it can: dropout, scheduled
    sampling, a shuffled sampler, a random eval metric, and a learning-rate schedule."""
    seed_everything(0)
    data = copy_task(40, lengths=(3, 5), vocab_size=5)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, emb_dim=8, hidden_size=16, attn_dim=8, attention="dot", dropout=0.3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    sampler = BatchSampler(data, 8, seed=1)

    def loss_fn(m, b):
        return sequence_loss(m(b.src, b.tgt_in, b.src_lengths, teacher_forcing=0.7).logits, b.tgt_out)

    def callback(step, loss):
        if step == interrupt_at:
            raise Interrupt(step)

    h = fit(model, opt, sampler, loss_fn, steps, eval_fn=lambda m: {"noise": torch.rand(()).item()}, eval_every=4,
            log_every=log_every, scheduler=sched, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
            progress=False, callback=callback)
    return model, opt, h


@pytest.mark.parametrize("log_every, checkpoint_every, interrupt_at", [(3, 6, 8), (3, 5, 8), (4, 5, 9), (4, 5, 10)])
def test_resume_after_an_interruption_is_exact(tmp_path, log_every, checkpoint_every, interrupt_at):
    ref_model, ref_opt, ref = _seq2seq_run(None, log_every=log_every, checkpoint_every=checkpoint_every)
    with pytest.raises(Interrupt):
        _seq2seq_run(tmp_path, interrupt_at=interrupt_at, log_every=log_every, checkpoint_every=checkpoint_every)
    saved = torch.load(tmp_path / "trainer.pt", weights_only=True)
    assert saved["step"] == (interrupt_at // checkpoint_every) * checkpoint_every  # the last checkpoint
    model, opt, h = _seq2seq_run(tmp_path, log_every=log_every, checkpoint_every=checkpoint_every)
    torch.testing.assert_close(model.state_dict(), ref_model.state_dict(), atol=0, rtol=0)
    for a, b in zip(opt.state_dict()["state"].values(), ref_opt.state_dict()["state"].values()):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert h.rows == ref.rows
    assert opt.param_groups[0]["lr"] == ref_opt.param_groups[0]["lr"]


def test_a_finished_run_rerun_is_unchanged(tmp_path):
    m1, _, h1 = _seq2seq_run(tmp_path, steps=6, checkpoint_every=4)
    m2, _, h2 = _seq2seq_run(tmp_path, steps=6, checkpoint_every=4)
    assert h2.rows == h1.rows
    torch.testing.assert_close(m2.state_dict(), m1.state_dict(), atol=0, rtol=0)


# ------------------------------------------------------------------ the progress bar
@pytest.mark.parametrize("env, shown", [(None, True), ("1", True), ("0", False), ("off", False), ("False", False)])
def test_progress_bar_shows_unless_coursekit_progress_turns_it_off(monkeypatch, capsys, env, shown):
    """Learners see the bar; the book build sets COURSEKIT_PROGRESS=0 (book/_ext/course_html.py)
    so that no hidden tqdm widget lands in a page. progress=True/False still decides alone."""
    if env is None:
        monkeypatch.delenv("COURSEKIT_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("COURSEKIT_PROGRESS", env)
    model, batches, loss_fn = _regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, opt, batches, loss_fn, 3, desc="bar-test")
    assert ("bar-test" in capsys.readouterr().err) == shown
    fit(model, opt, batches, loss_fn, 3, desc="forced", progress=True)
    assert "forced" in capsys.readouterr().err
    fit(model, opt, batches, loss_fn, 3, desc="silenced", progress=False)
    assert "silenced" not in capsys.readouterr().err
