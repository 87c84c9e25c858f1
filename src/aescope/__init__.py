"""aescope: autoencoder anomaly detection for tabular data, measured."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aescope")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
