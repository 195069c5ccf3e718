"""The tracing policy as facts and judgements shared by rules, deploy validation, the smoke
trace and the SDK (which variables switch content on, which values are truthy, ...)."""
