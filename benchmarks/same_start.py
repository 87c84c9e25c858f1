"""Does aescope's engine do the same arithmetic as PyTorch? Same start, same batches.

The loss bar of train_speed.py compares frameworks over many seeds, because one
seed's loss after a few epochs is mostly luck. This script removes the luck: it
trains ``seed-best`` in aescope and in PyTorch (the benchmark's own competitor,
``competitors.TorchAutoencoder``, on 1 thread) from identical initial
weights over identical batches (aescope's own shuffle order for that seed), and
prints, at a few step counts, the largest weight difference and both validation
losses. Equal arithmetic shows as differences at float rounding level for the
first steps, which then grow as rounding is amplified by training (chaos), not
as a drift from the first step on.

Usage (inside .venv-bench)::

    python benchmarks/same_start.py                  # seed 3; 10, 100, 1000, 3554 steps
    python benchmarks/same_start.py --steps 10,100 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import load_bench_data, mse, seed_best


def run_aescope(arch, x_steps: np.ndarray, x_val: np.ndarray, seed: int) -> tuple:
    from aescope.engine import TrainConfig, reconstruct, train

    config = TrainConfig(epochs=1, batch_size=64, shuffle=False, restore_best=False)
    params = train(arch, x_steps, x_val, config, seeds=[seed]).replica(0)
    return params, mse(reconstruct(arch, params, x_val), x_val)


def run_torch(arch, start: list[dict], x_steps: np.ndarray, x_val: np.ndarray) -> tuple:
    """The benchmark's own PyTorch competitor, on 1 thread, started from ``start``."""
    import torch
    from competitors import TorchAutoencoder

    competitor = TorchAutoencoder(arch, threads=1)
    model = competitor.build()
    with torch.no_grad():
        for lin, p in zip(model.dense, start, strict=True):
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(p["kernel"].T)))
            lin.bias.copy_(torch.from_numpy(np.array(p["bias"])))
    opt = competitor._optimizer(model.parameters())
    model.train()
    xs = torch.from_numpy(x_steps)
    for i in range(0, len(xs), 64):
        competitor.step(opt, xs[i : i + 64])
    out = [
        {"kernel": lin.weight.detach().numpy().T, "bias": lin.bias.detach().numpy()}
        for lin in model.dense
    ]
    return out, mse(competitor.reconstruct(x_val), x_val)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", default="10,100,1000,3554", help="step counts to compare")
    p.add_argument("--seeds", default="3", help="comma list of seeds")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)

    from aescope.engine import init_params, shuffle_order

    data = load_bench_data(args.data_dir)
    arch = seed_best(data.x_train.shape[1])
    print("| seed | steps | max abs weight difference | val MSE aescope | val MSE PyTorch |")
    print("| --- | --- | --- | --- | --- |")
    for seed in (int(s) for s in args.seeds.split(",")):
        order = shuffle_order(seed, 0, len(data.x_train))
        start = [{k: np.asarray(v) for k, v in layer.items()} for layer in init_params(arch, seed)]
        for steps in (int(s) for s in args.steps.split(",")):
            x_steps = np.ascontiguousarray(data.x_train[order[: steps * 64]])
            ours, ours_val = run_aescope(arch, x_steps, data.x_val, seed)
            theirs, theirs_val = run_torch(arch, start, x_steps, data.x_val)
            diff = max(
                float(np.abs(a["kernel"] - b["kernel"]).max())
                for a, b in zip(ours, theirs, strict=True)
            )
            print(
                f"| {seed} | {steps} | {diff:.2e} | {ours_val:.5f} | {theirs_val:.5f} |", flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
