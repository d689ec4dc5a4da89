"""coursekit's GPT against transformers' GPT2LMHeadModel, and the KV cache's speed-up, on CPU.

1. Training step: forward + backward (next-token cross-entropy) of coursekit's ``GPT`` and
   ``GPT2LMHeadModel`` (its default attention, ``sdpa``) with the same weights, at
   D=256, L=4, H=4, V=4096, T=256, B=8; the two interleaved round by round, a few warm-up
   rounds, then the median of N. Target: coursekit / transformers <= 1.0x.
2. Decoding: the time to produce the next token when the sequence is n tokens long, with the
   KV cache (one position through the model, attending to n - 1 cached ones) and without it
   (the whole prefix through the model again), for n = 64 ... 1024, on a smaller GPT
   (D=128, L=4, H=4, V=512, 1024 positions), batch 1.

Usage::

    python scripts/bench_gpt.py                       # one torch thread, as the notebooks
    python scripts/bench_gpt.py --threads 2 --json _build/bench_gpt.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from coursekit.gpt import GPT, GPTConfig, to_hf_gpt2
from coursekit.transformer import interleaved_ms

LENGTHS = (64, 128, 256, 512, 1024)


def train_step_times(B: int, T: int, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds of one forward + backward, coursekit and transformers, same weights."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=4096, n_positions=T, n_embd=256, n_layer=4, n_head=4)
    ours = GPT(cfg).train()
    theirs = to_hf_gpt2(ours).train()  # dropout is 0 in cfg: train mode changes nothing else
    x = torch.randint(cfg.vocab_size, (B, T + 1), generator=torch.Generator().manual_seed(1))
    idx, targets = x[:, :-1], x[:, 1:]

    def step_ours():
        ours.zero_grad(set_to_none=True)
        ours.loss(idx, targets).backward()

    def step_theirs():
        theirs.zero_grad(set_to_none=True)
        logits = theirs(idx).logits  # (B, T, V)
        F.cross_entropy(logits.flatten(0, 1), targets.flatten()).backward()

    fns = {"coursekit GPT": step_ours, "transformers GPT2LMHeadModel": step_theirs}
    # interleaved, so load from other processes hits both alike
    return {name: ms / 1000 for name, ms in interleaved_ms(fns, warmup=warmup, rounds=repeats).items()}


@torch.no_grad()
def decode_times(lengths: tuple[int, ...], repeats: int) -> list[dict]:
    """Median ms to compute the next token's logits at each sequence length n, with and without the cache."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=512, n_positions=max(lengths), n_embd=128, n_layer=4, n_head=4)
    model = GPT(cfg).eval()
    seq = torch.randint(cfg.vocab_size, (1, max(lengths)), generator=torch.Generator().manual_seed(2))
    rows = []
    for n in lengths:
        cache = model.new_cache()
        model(seq[:, : n - 1], cache=cache)  # the n - 1 earlier positions, cached (not timed)

        def with_cache(n=n, cache=cache):
            model(seq[:, n - 1 : n], cache=cache.crop(n - 1))  # (1, 1, V): one new position

        def without_cache(n=n):
            model(seq[:, :n])  # (1, n, V): everything again

        ms = interleaved_ms({"with": with_cache, "without": without_cache}, warmup=1, rounds=repeats)
        rows.append({"length": n, "ms_with_cache": ms["with"], "ms_without_cache": ms["without"],
                     "speedup": ms["without"] / ms["with"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds of the training step")
    parser.add_argument("--decode-repeats", type=int, default=15, help="timed rounds per decoding length")
    parser.add_argument("--B", type=int, default=8)
    parser.add_argument("--T", type=int, default=256)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    step = train_step_times(args.B, args.T, args.repeats)
    ratio = step["coursekit GPT"] / step["transformers GPT2LMHeadModel"]
    print(f"Training step (forward + backward), B={args.B}, T={args.T}, D=256, L=4, H=4, V=4096, "
          f"{args.threads} thread(s), median of {args.repeats}:")
    for name, s in step.items():
        print(f"  {name:<30} {1e3 * s:8.1f} ms")
    print(f"  ratio coursekit / transformers: {ratio:.2f}x (target <= 1.0x)")

    rows = decode_times(LENGTHS, args.decode_repeats)
    print(f"\nNext-token time at sequence length n (D=128, L=4, H=4, V=512, batch 1), median of {args.decode_repeats}:")
    print(f"  {'n':>5} {'with cache':>12} {'without':>12} {'speed-up':>9}")
    for r in rows:
        print(f"  {r['length']:>5} {r['ms_with_cache']:>9.2f} ms {r['ms_without_cache']:>9.2f} ms {r['speedup']:>8.1f}x")
    total = time.perf_counter() - t0
    print(f"\n({total:.0f} s in all)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {"threads": args.threads, "train_step_s": step, "train_step_ratio": ratio, "decode": rows, "seconds": total}
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
