"""The CI smoke trace: an embedded OTLP/HTTP receiver, a local LLM server and the assertions."""
