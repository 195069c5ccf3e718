"""The kernel of the gate: findings, configuration, discovery, sources, the cache, suppressions,
the rule base classes and the engine that runs the rules it is given.

Nothing here imports a rule, a fixer or the command line (``tests/test_layers.py``).
"""
