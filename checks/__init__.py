"""The guard: engine, config, discovery, reporters and the command line."""
