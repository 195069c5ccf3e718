"""Offline validation of the deployment package (``somatrace deploy validate``) and the live
cluster audit (``somatrace audit-cluster``).

Both judge container environments with :mod:`somatrace.checks.policy.environ` through
:mod:`somatrace.checks.deploy.workloads`, so a manifest on disk and a workload read from a
cluster get the same findings.
"""
