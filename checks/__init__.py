"""The guard: what proves, on every commit, that a fleet's LLM services are traced, tagged,
cost-attributed and prompt-safe.

Packages, bottom to top (a package imports only from the ones above it in this list;
``tests/test_layers.py`` enforces it, lazy imports included):

- ``lint``: the kernel. ``codes`` (every code, written once), ``findings``, ``config``,
  ``discovery``, ``source``, ``suppression``, ``cache``, ``workers`` (the crash-proof pool),
  ``module`` (one CPython ``ast`` parse and index per file), ``provenance`` (values as terms),
  ``project`` (the project model that joins every module's facts), ``rule`` (the rule base
  classes) and ``engine`` (one ``somatrace check`` run). It runs the rules it is given.
- ``policy`` and ``analysis``: the tracing policy as facts and judgements (``policy.environ``),
  and what code means — literal values, environment writes, tag flow, OpenTelemetry/Traceloop
  and web-framework knowledge — shared by the rules. ``config_files`` reads YAML, ``.env`` and
  Dockerfiles; ``runtime`` holds the real servers (llama.cpp, the OTLP receiver); ``deploy``
  validates a deployment directory.
- ``somatrace.rules`` (``rules/``): one module per rule, with its docs and samples; the catalogue.
- ``smoke``, ``eval``, ``monitoring``, ``digest``: the products built on the runtime servers
  (the CI smoke trace, the nightly RAG evaluation, alert rules and dashboards, the cost digest).
- ``reporters``: text, concise, json, sarif, github, junit.
- ``somatrace.fixers`` (``fixers/``): one LibCST codemod per fixable rule, machinery in
  ``fixers/support``.
- ``cli`` and ``lsp``: the command line and the editor server, the only importers of fixers.

``docs/architecture.md`` draws the flow of ``check``, ``fix``, ``smoke`` and ``eval``.
"""
