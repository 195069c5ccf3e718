"""Real servers the smoke trace, the eval job and the tests run locally: the llama.cpp LLM
server and the OTLP receiver."""
