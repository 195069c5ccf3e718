"""somatrace: keep every LLM service traced, tagged, cost-attributed and prompt-safe."""

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)
