"""Exporting fitted detectors to other runtimes.

Kept import-light on purpose: ``aescope.export.onnx`` needs the optional ``onnx``
package (``pip install 'aescope[serve]'``), so nothing here imports it eagerly.
"""
