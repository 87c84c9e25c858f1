"""The HTTP scoring service: ``create_app(model_path)`` and ``aescope serve``.

Needs the ``serve`` extra (``pip install 'aescope[serve]'``); ``import aescope``
does not import this package.
"""

from aescope.serve.app import create_app
from aescope.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
