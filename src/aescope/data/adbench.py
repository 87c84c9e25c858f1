"""ADBench ``.npz`` files (keys ``X`` and ``y``) as datasets."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from aescope.data.dataset import Dataset
from aescope.data.tables import existing_file, table_name
from aescope.data.validate import validate_frame
from aescope.errors import DataValidationError


def load_adbench(path: str | Path) -> Dataset:
    """Load one ADBench set: features ``x0..x{d-1}``, label ``y`` (1 = anomaly).

    ``allow_pickle=False``: an ``.npz`` is a zip of arrays, and a pickled
    object array inside it could run code on load.
    """
    path = existing_file(path)
    source = str(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataValidationError(f"{source}: not a readable .npz file ({error})") from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataValidationError(f"{source}: not an .npz archive (a single array?)")
    with loaded as archive:
        missing = [key for key in ("X", "y") if key not in archive.files]
        if missing:
            raise DataValidationError(
                f"{source}: missing arrays {', '.join(map(repr, missing))} "
                f"(found: {', '.join(map(repr, archive.files)) or 'none'})"
            )
        try:
            x = archive["X"]
            y = archive["y"]
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            # e.g. an object array, refused because it would need unpickling
            raise DataValidationError(f"{source}: cannot read arrays ({error})") from error
    if x.ndim != 2:
        raise DataValidationError(f"{source}: X must be 2-D (rows x features), got shape {x.shape}")
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1 or len(y) != len(x):
        raise DataValidationError(
            f"{source}: y must hold one label per row of X ({len(x)}), got shape {y.shape}"
        )
    features = [f"x{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=features)
    frame["y"] = y
    clean = validate_frame(frame, label="y", source=source)
    return Dataset(name=table_name(path), frame=clean, label="y", time=None, source=source)
