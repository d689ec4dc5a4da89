"""coursekit.compression.experiments on a real but very short run: the fine-tuned task, the
results table (every method, consistent sizes), Michel et al.'s curve and the Pareto front."""

import pytest
import torch

from coursekit.bert.experiments import grammar_sentences, pretrain_tiny_bert, tiny_config
from coursekit.compression import (TinyTask, accuracy, compression_results, finetuned_task, head_pruning_curve,
                                   model_bytes, pareto_front, parameter_count)
from coursekit.wordpiece import train_wordpiece


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def task(one_thread):
    tok = train_wordpiece(["\n".join(grammar_sentences("train") + grammar_sentences("test"))], 300)
    g = grammar_sentences("train")
    cfg = tiny_config(tok, hidden_size=16, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    run = pretrain_tiny_bert(cfg, tokenizer=tok, steps=4, batch_size=16, eval_every=4, sentences=(g[::4], g[1::40]),
                             max_length=24, progress=False)
    return finetuned_task(run, n_labels=48, steps=6, max_length=24, n_test=40)


def test_finetuned_task(task):
    assert isinstance(task, TinyTask) and not task.model.training
    ids, real, y = task.train
    assert ids.shape[0] == real.shape[0] == y.shape[0] == 48 and real.dtype == torch.bool
    assert len(task.test[2]) == 40
    assert set(y.tolist()) == {0, 1}
    assert task.accuracy == accuracy(task.model, *task.test)
    with pytest.raises(ValueError, match="run"):
        finetuned_task(task.model)


def test_compression_results_rows(task):
    rows = compression_results(task, sparsities=(0.5,), head_shares=(0.5,), ranks=(4,), quant_bits=(8,),
                               distill_steps=2, latency_rounds=1, latency_examples=8)
    methods = [r["method"] for r in rows]
    assert methods[0] == "original" and {"magnitude pruning", "head pruning", "low rank (SVD)", "distillation",
                                        "student from scratch", "student, labels only", "sharing (ALBERT)",
                                        "quantisation"} <= set(methods)
    assert all(set(r) == {"method", "setting", "params", "bytes", "accuracy", "latency_ms", "trained_steps",
                          "measured"} for r in rows)
    trained = {r["method"] for r in rows if r["trained_steps"]}
    assert trained == {"distillation", "student from scratch", "student, labels only", "sharing (ALBERT)"}
    assert all(r["trained_steps"] in (0, 2) for r in rows)
    computed = {(r["method"], r["setting"]) for r in rows if not r["measured"]}
    assert {m for m, _ in computed} == {"magnitude pruning", "head pruning", "quantisation"}
    assert ("quantisation", "int8 (simulated)") in computed and ("quantisation", "int8 (torch dynamic)") not in computed
    orig = rows[0]
    assert orig["accuracy"] == task.accuracy and orig["params"] == parameter_count(task.model)
    assert orig["bytes"] == model_bytes(task.model) == 4 * orig["params"]
    for r in rows[1:]:
        assert r["bytes"] < orig["bytes"] and 0 <= r["accuracy"] <= 1 and r["latency_ms"] > 0, r
    student = next(r for r in rows if r["method"] == "distillation")
    scratch = next(r for r in rows if r["method"] == "student from scratch")
    labels_only = next(r for r in rows if r["method"] == "student, labels only")
    shared = next(r for r in rows if r["method"] == "sharing (ALBERT)")
    assert student["params"] == scratch["params"] == labels_only["params"] == shared["params"] < orig["params"]
    head = next(r for r in rows if r["method"] == "head pruning")
    assert head["setting"] == "2 of 4 heads"
    assert {r["setting"] for r in rows if r["method"] == "quantisation"} >= {"int8 (simulated)"}
    front = pareto_front(rows)
    assert front and all(not any(o["bytes"] < f["bytes"] and o["accuracy"] > f["accuracy"] for o in rows)
                         for f in front)
    # the model it was given is untouched by all of it
    assert rows[0]["accuracy"] == accuracy(task.model, *task.test)


def test_head_pruning_curve(task):
    rows = head_pruning_curve(task, random_draws=2)
    assert len(rows) == 2 * (4 + 1)
    start = [r for r in rows if r["pruned"] == 0]
    assert all(r["accuracy"] == task.accuracy for r in start)  # no head gated: the model itself
    assert {r["order"] for r in rows} == {"importance", "random"}
    assert [r["share"] for r in rows if r["order"] == "importance"] == [0, 0.25, 0.5, 0.75, 1.0]
    every = [r["accuracy"] for r in rows if r["pruned"] == 4]
    assert every[0] == every[1]  # all heads off: the order does not matter
