"""qbench: benchmark quantum optimization against classical methods on constrained problems."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
