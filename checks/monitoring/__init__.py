"""Monitoring as code: the Prometheus alert rules, the Alertmanager routing and the Grafana
dashboards of somatrace, generated from this package into ``deploy/monitoring/``.

``python -m somatrace.checks.monitoring`` rewrites the shipped files; ``--check`` exits 1 when
one of them differs from what this package generates (``tests/monitoring`` runs it).
"""
