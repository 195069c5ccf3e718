"""The tool's version, used in ``--version``, SARIF output and the cache key.

Written once, in ``somatrace/__init__.py`` (the package metadata is built from it), and read
from there: ``importlib.metadata`` would cost every run ~40 ms of imports.
"""

from somatrace import __version__ as VERSION

__all__ = ["VERSION"]
