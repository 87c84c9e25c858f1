"""Exception types shared across aescope's layers.

Every error a user can trigger by giving bad input derives from
:class:`AescopeError`, so a CLI or notebook can catch one family and show its
message, which always names the column, row, value or file at fault.
"""

from __future__ import annotations


class AescopeError(Exception):
    """Base class for errors that aescope raises on purpose."""


class DataValidationError(AescopeError, ValueError):
    """A table is not usable as given (missing column, NaN, non-numeric, ...)."""


class DataUnavailableError(AescopeError, FileNotFoundError):
    """A data set could not be found locally nor downloaded."""


class ArchitectureError(AescopeError, ValueError):
    """An autoencoder description is inconsistent or cannot be parsed."""


class ConfigError(AescopeError, ValueError):
    """A setting is out of range or unknown (training config, seeds, threshold policy)."""


class ThresholdPolicyError(ConfigError):
    """A threshold policy is misconfigured or its text/dict form cannot be parsed."""


class TrainingDivergedError(AescopeError, FloatingPointError):
    """Training produced a NaN or infinite loss."""


class ModelFileError(AescopeError, ValueError):
    """A saved model file is missing, truncated, corrupted, tampered or of another version."""


class OutputError(AescopeError, OSError):
    """An output cannot be written where asked (same file as an input, not a regular file,
    unwritable folder, unknown format): refused before anything is computed or replaced."""


class OptionalDependencyError(AescopeError, ImportError):
    """A feature needs an optional extra that is not installed (the message names it)."""


class LabelLikeColumnWarning(UserWarning):
    """A training column's name says it holds the answer (``Class``, ``is_fraud``...):
    an autoencoder trained on it leaks the label into its scores. The command line
    refuses such a column; the Python API warns (filter this class to silence it)."""
