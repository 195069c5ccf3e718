"""Errors the command line turns into exit code 2 with a readable message."""


class UsageError(Exception):
    """Bad input from the user: an unknown option value, a broken config file, a missing path."""


class ConfigError(UsageError):
    """A ``[tool.somatrace]`` table that cannot be used; the message names the file and the key."""
