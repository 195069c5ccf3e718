"""What Python code means: names and their provenance, literal values, OpenTelemetry and
environment facts. Rules ask this layer; they do not walk trees themselves."""
