"""The daily cost digest for FinOps (``somatrace digest``): exact cost per tenant, workflow and
model over one UTC day, from the spine's Prometheus metrics or from exported spans, delivered
to the notification service (template ``observability-cost-digest``) or by e-mail."""
