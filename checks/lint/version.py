"""The tool's version, used in ``--version``, SARIF output and the cache key."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("somatrace")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0+unknown"
