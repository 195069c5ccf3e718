"""Environment that keeps an evaluation offline and free of egress.

Must run before Giskard, litellm, huggingface_hub or sentence-transformers are imported: each
reads these variables at import time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

OFFLINE_ENV = {
    # Giskard sends usage analytics to Mixpanel unless told not to.
    "GSK_DISABLE_ANALYTICS": "true",
    # litellm fetches its model price map from GitHub at import unless told to use its copy.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    # The embedding model ships in a Python package; never ask the Hugging Face Hub.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce_offline() -> None:
    """Set every switch above (overriding what the caller had: zero egress is policy), and
    give numba (UMAP) and matplotlib writable cache folders unless the caller chose some: in a
    container with a read-only root file system numba's JIT cache otherwise fails."""
    os.environ.update(OFFLINE_ENV)
    scratch = Path(tempfile.gettempdir()) / "somatrace-eval-cache"
    for variable, folder in (("NUMBA_CACHE_DIR", "numba"), ("MPLCONFIGDIR", "matplotlib")):
        if not os.environ.get(variable):
            path = scratch / folder
            path.mkdir(parents=True, exist_ok=True)
            os.environ[variable] = str(path)
