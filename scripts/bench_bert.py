"""coursekit's BERT against transformers' BertModel (SDPA attention) on CPU, same weights.

Forward (no gradients, eval mode) and forward + backward (a fixed random projection of the
last hidden states plus the pooled output's sum, train mode with dropout 0) of :class:`coursekit.bert.BertModel` and
``transformers.BertModel(attn_implementation="sdpa")`` built from the same config
(H=256, L=4, A=4, F=1024, V=4096, T=128, B=16 by default), with every token real, and the
forward once more with a padding mask (the last quarter of every other row padded; each model
takes its own mask form: coursekit a bool ``key_padding_mask``, transformers the 1/0
``attention_mask``). Two warm-up calls each, then the two models alternate call by call (who
goes first alternates too) for ``--rounds`` rounds; each round gives one paired ratio, so a
change in the machine's load falls on both sides of it. Reported: each side's median time
and the median ratio with its spread (lowest and highest round). Target:
coursekit / transformers <= 1.0x.

Usage::

    python scripts/bench_bert.py                      # one torch thread, as the notebooks
    python scripts/bench_bert.py --threads 2 --json _build/bench_bert.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from coursekit.bert import BertConfig, BertModel, to_hf_bert
from coursekit.transformer import interleaved_ms


def paired(steps: dict, rounds: int, warmup: int = 2) -> dict[str, float | list[float]]:
    """Median ms of each of the two ``steps`` (coursekit, transformers) and the per-round ratios
    coursekit / transformers: ``rounds`` one-call rounds of :func:`interleaved_ms`, the order
    alternating from round to round."""
    (a, fa), (b, fb) = steps.items()
    interleaved_ms(steps, warmup=warmup, rounds=1)
    times = [interleaved_ms({a: fa, b: fb} if r % 2 == 0 else {b: fb, a: fa}, warmup=0, rounds=1) for r in range(rounds)]
    return {a: statistics.median(t[a] for t in times), b: statistics.median(t[b] for t in times),
            "ratios": [t[a] / t[b] for t in times]}


def bench(B: int, T: int, rounds: int, padded: bool = False, backward: bool = True) -> dict[str, dict]:
    """Median ms of a forward (and of a forward + backward), coursekit and transformers, with the
    per-round ratios (:func:`paired`)."""
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=4096, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=1024, max_position_embeddings=T)
    ours = BertModel(cfg)
    theirs = to_hf_bert(ours, attn_implementation="sdpa")
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, cfg.vocab_size, (B, T), generator=g)
    types = (torch.arange(T) >= T // 2).long().expand(B, T).contiguous()  # segment A then B
    mask = torch.ones(B, T, dtype=torch.bool)
    if padded:
        mask[::2, T - T // 4:] = False  # every other row ends in padding
        ids[~mask] = 0
    kpm, am = (mask, mask.long()) if padded else (None, None)
    w = torch.randn(B, T, cfg.hidden_size, generator=g)  # not hidden.sum(): a LayerNorm's output sums to a constant

    def fwd_ours():
        with torch.no_grad():
            ours(ids, token_type_ids=types, key_padding_mask=kpm)

    def fwd_theirs():
        with torch.no_grad():
            theirs(input_ids=ids, token_type_ids=types, attention_mask=am)

    def step_ours():
        ours.zero_grad(set_to_none=True)
        out = ours(ids, token_type_ids=types, key_padding_mask=kpm)
        ((out.hidden * w).sum() + out.pooled.sum()).backward()

    def step_theirs():
        theirs.zero_grad(set_to_none=True)
        out = theirs(input_ids=ids, token_type_ids=types, attention_mask=am)
        ((out.last_hidden_state * w).sum() + out.pooler_output.sum()).backward()

    ours.eval(), theirs.eval()
    times = {"forward": paired({"coursekit": fwd_ours, "transformers": fwd_theirs}, rounds)}
    if backward:
        ours.train(), theirs.train()  # dropout is 0 in cfg: train mode changes nothing else
        times["forward + backward"] = paired({"coursekit": step_ours, "transformers": step_theirs}, rounds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds, one paired ratio each (median)")
    parser.add_argument("--B", type=int, default=16)
    parser.add_argument("--T", type=int, default=128)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    result = {}
    print(f"coursekit BertModel / transformers BertModel (sdpa): H=256, L=4, A=4, F=1024, V=4096, "
          f"B={args.B}, T={args.T}, {args.threads} thread(s), median of {args.rounds} rounds")
    for padded in (False, True):
        label = "padding mask" if padded else "no padding"
        times = bench(args.B, args.T, args.rounds, padded=padded, backward=not padded)
        for what, t in times.items():
            ratio, r = statistics.median(t["ratios"]), t["ratios"]
            result[f"{what}, {label}"] = {**t, "ratio": ratio}
            print(f"  {what:<19} {label:<13} coursekit {t['coursekit']:7.1f} ms  transformers {t['transformers']:7.1f} ms  "
                  f"ratio {ratio:.2f}x ({min(r):.2f}-{max(r):.2f} over rounds; target <= 1.0x)")
    total = time.perf_counter() - t0
    print(f"({total:.0f} s in all)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"threads": args.threads, "results": result, "seconds": total}, indent=1) + "\n")


if __name__ == "__main__":
    main()
