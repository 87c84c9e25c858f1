"""Regenerate the bundled credit-card sample from the real file (deterministic).

    python scripts/make_creditcard_sample.py [--source PATH] [--out PATH]

Keeps all 492 frauds plus 30,000 normal rows chosen by a fixed seed (see
``aescope.data.creditcard.sample_rows``), in file order, same columns. V1..V28
are stored as float32 so the file stays under 5 MB; Time, Amount stay float64.
Refuses a source whose decompressed sha256 is not the published one, because
SAMPLE.md claims that provenance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aescope._atomic import atomic_path
from aescope.data import find_creditcard, load_creditcard_file, sha256_of
from aescope.data.creditcard import (
    CREDITCARD_COLUMNS,
    CREDITCARD_SHA256,
    CREDITCARD_URL,
    LABEL,
    SAMPLE_FILENAME,
    SAMPLE_FLOAT32_COLUMNS,
    SAMPLE_NORMALS,
    SAMPLE_SEED,
    TIME,
    build_sample,
)
from aescope.data.dataset import Dataset
from aescope.data.validate import validate_frame

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "aescope" / "data" / SAMPLE_FILENAME
MAX_BYTES = 5 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="creditcard.csv[.gz] (default: search)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    shared = ROOT.parent / "shared" / "data" / "creditcard.csv.gz"
    source = args.source or find_creditcard() or shared
    digest = sha256_of(source)
    if digest != CREDITCARD_SHA256:
        print(f"error: {source} has sha256 {digest}, expected {CREDITCARD_SHA256}", file=sys.stderr)
        return 1
    full = load_creditcard_file(source)
    sample = build_sample(full, SAMPLE_NORMALS, SAMPLE_SEED)

    table = pa.Table.from_pandas(sample, preserve_index=False)
    # The fingerprint of what load_creditcard(sample=True) will return (float64 view).
    loaded = validate_frame(sample, label=LABEL, time=TIME, expected_columns=CREDITCARD_COLUMNS)
    check = Dataset("creditcard-sample", loaded, LABEL, TIME)
    metadata = {
        **(table.schema.metadata or {}),
        b"aescope.source": CREDITCARD_URL.encode(),
        b"aescope.source_sha256": CREDITCARD_SHA256.encode(),
        b"aescope.seed": str(SAMPLE_SEED).encode(),
        b"aescope.normal_rows": str(SAMPLE_NORMALS).encode(),
        b"aescope.float32_columns": ",".join(SAMPLE_FLOAT32_COLUMNS).encode(),
        b"aescope.fingerprint": check.fingerprint().encode(),
        b"aescope.script": b"scripts/make_creditcard_sample.py",
    }
    table = table.replace_schema_metadata(metadata)
    with atomic_path(args.out, ".parquet") as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=19,
            # Split float bytes into streams (exponents compress well); dictionaries
            # only where values repeat.
            use_dictionary=["Time", "Amount", "Class"],
            use_byte_stream_split=list(SAMPLE_FLOAT32_COLUMNS),
        )
        tmp.chmod(0o644)  # package data: readable by all (mkstemp creates 0600)
        size = tmp.stat().st_size
        if size > MAX_BYTES:
            raise SystemExit(f"error: sample is {size:,} bytes, over the {MAX_BYTES:,} limit")
    frauds = int(sample["Class"].sum())
    print(f"wrote {args.out}: {len(sample):,} rows ({frauds} frauds), {size:,} bytes")
    print(f"content fingerprint (float64 view): {metadata[b'aescope.fingerprint'].decode()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
