"""Execute every chapter notebook fresh and report its wall time (``make bench``).

Each notebook runs in a new kernel, exactly as a learner would run it top to
bottom, with ``raises-exception`` cells allowed to fail. The figures go into
each chapter's runtime estimate. Usage::

    python scripts/bench.py                 # all chapters, CPU configuration
    python scripts/bench.py --scale gpu     # the GPU configuration (needs CUDA)
    python scripts/bench.py chapters/02_attention.ipynb --json _build/bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    total = time.perf_counter() - t0
    # Per-cell times from the execution metadata, to show where the time goes.
    cells = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("execution", {})
        start, end = meta.get("iopub.execute_input"), meta.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:
            from datetime import datetime

            secs = (datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            cells.append((secs, i, cell.source.splitlines()[0][:60] if cell.source else ""))
    cells.sort(reverse=True)
    return {"notebook": str(path.relative_to(ROOT)), "seconds": round(total, 1), "slowest_cells": cells[:3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--scale", choices=("cpu", "gpu"), default=None, help="force COURSEKIT_SCALE for the kernels")
    parser.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if args.scale:
        os.environ["COURSEKIT_SCALE"] = args.scale  # inherited by the kernels
    notebooks = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    print(f"device: {device}; torch {torch.__version__}; scale: {os.environ.get('COURSEKIT_SCALE', 'auto')}")
    results = []
    for path in notebooks:
        r = run(path, args.timeout)
        results.append(r)
        print(f"{r['notebook']:<36} {r['seconds']:>7.1f} s")
        for secs, i, first in r["slowest_cells"]:
            print(f"    cell {i:>3}: {secs:6.1f} s  {first}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"device": device, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
