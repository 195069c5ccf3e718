"""somatrace: keep every LLM service traced, tagged, cost-attributed and prompt-safe."""
