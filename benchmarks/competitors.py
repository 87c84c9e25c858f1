"""The same autoencoder in Keras 3, PyTorch eager and PyOD, for speed comparisons.

Each competitor is built from an aescope ``Architecture`` so the comparison is
about the training machinery, not the network: same widths, activations,
regularisers, initialisation (Glorot uniform, zero bias), optimiser (Adam,
lr 1e-3, eps 1e-7) and batch size. Framework imports live inside the methods so
this module imports (and its tests, if any, collect) without them installed.

Every class exposes the same small surface:

``build(seed)``
    fresh, untrained weights (enough for scoring benchmarks: same cost).
``train(x_train, x_val, epochs, batch_size, seed) -> dict``
    ``seconds_per_epoch`` (list), ``val_loss`` (per epoch, where available) and
    ``final_val_loss`` (plain MSE on ``x_val`` computed by the caller's formula),
    plus notes on what differs from the reference.
``reconstruct(x, batch_size)`` / ``errors(x, batch_size)``
    the reconstruction and the per-row mean squared error, for throughput.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import numpy as np
from _common import mse

ADAM_LR = 1e-3
ADAM_EPS = 1e-7  # Keras' default; torch's is 1e-8, so set explicitly everywhere


def _threads() -> int:
    """Threads for PyTorch: all cores, unless AESCOPE_BENCH_THREADS caps it."""
    return int(os.environ.get("AESCOPE_BENCH_THREADS", 0)) or os.cpu_count() or 1


# --------------------------------------------------------------------------- Keras 3


class KerasAutoencoder:
    """``keras.Sequential`` of ``Dense`` layers, written the way the study wrote it."""

    name = "keras"

    def __init__(self, arch: Any, jit_compile: bool | str = "auto") -> None:
        self.arch = arch
        self.jit_compile = jit_compile
        self.model: Any = None

    def build(self, seed: int = 0) -> Any:
        import keras
        from keras import layers, regularizers

        keras.utils.set_random_seed(seed)
        net = [keras.Input(shape=(self.arch.n_features,))]
        for spec in self.arch.layers:
            act_reg = None
            if spec.activity_l1 or spec.activity_l2:
                act_reg = regularizers.L1L2(l1=spec.activity_l1, l2=spec.activity_l2)
            net.append(
                layers.Dense(
                    spec.units,
                    activation=spec.activation,
                    activity_regularizer=act_reg,
                    kernel_regularizer=regularizers.L2(spec.kernel_l2) if spec.kernel_l2 else None,
                    kernel_initializer="glorot_uniform",
                )
            )
            if spec.dropout:
                net.append(layers.Dropout(spec.dropout))
        model = keras.Sequential(net)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=ADAM_LR, epsilon=ADAM_EPS),
            loss="mse",
            jit_compile=self.jit_compile,
        )
        self.model = model
        return model

    def train(
        self, x_train: np.ndarray, x_val: np.ndarray, epochs: int, batch_size: int, seed: int = 0
    ) -> dict[str, Any]:
        import keras

        model = self.build(seed)
        stamps: list[float] = []

        class _Clock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                stamps.append(time.perf_counter())

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                stamps[-1] = time.perf_counter() - stamps[-1]

        hist = model.fit(
            x_train,
            x_train,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            validation_data=(x_val, x_val),
            callbacks=[_Clock()],
            verbose=0,
        )
        return {
            "seconds_per_epoch": stamps,
            "val_loss": [float(v) for v in hist.history.get("val_loss", [])],
            "final_val_loss": mse(self.reconstruct(x_val), x_val),
            "notes": f"model.fit, validation each epoch, jit_compile={model.jit_compile}",
        }

    def reconstruct(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        return np.asarray(self.model.predict(x, batch_size=batch_size, verbose=0))

    def errors(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        recon = self.reconstruct(x, batch_size)
        return np.mean(np.square(recon - x), axis=1)


# --------------------------------------------------------------------------- PyTorch


class TorchAutoencoder:
    """PyTorch eager, the fast way: whole-tensor data, randperm batches, fused Adam.

    No ``DataLoader`` (per-row ``__getitem__`` is the slow path PyOD takes); the
    activity regulariser is added to the loss divided by the batch size, as Keras 3
    does, and the kernels use Glorot-uniform init with zero biases like Keras.
    """

    name = "torch"

    def __init__(self, arch: Any, threads: int | None = None) -> None:
        self.arch = arch
        self.threads = threads or _threads()
        self.model: Any = None

    def build(self, seed: int = 0) -> Any:
        import torch
        from torch import nn

        torch.set_num_threads(self.threads)
        torch.manual_seed(seed)
        arch = self.arch
        dense = nn.ModuleList()
        fan_in = arch.n_features
        for spec in arch.layers:
            lin = nn.Linear(fan_in, spec.units)
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
            dense.append(lin)
            fan_in = spec.units
        acts = {
            "relu": torch.relu,
            "tanh": torch.tanh,
            "sigmoid": torch.sigmoid,
            "elu": nn.functional.elu,
            "gelu": nn.functional.gelu,
            "leaky_relu": lambda t: nn.functional.leaky_relu(t, 0.2),  # Keras 3 default slope
            "linear": lambda t: t,
        }
        specs = list(arch.layers)

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.dense = dense

            def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                penalty = x.new_zeros(())
                batch = x.shape[0]
                for lin, spec in zip(self.dense, specs, strict=True):
                    x = acts[spec.activation](lin(x))
                    if spec.activity_l1:
                        penalty = penalty + spec.activity_l1 * x.abs().sum() / batch
                    if spec.activity_l2:
                        penalty = penalty + spec.activity_l2 * x.square().sum() / batch
                    if spec.kernel_l2:
                        penalty = penalty + spec.kernel_l2 * lin.weight.square().sum()
                    if spec.dropout and self.training:
                        x = nn.functional.dropout(x, spec.dropout, training=True)
                return x, penalty

        self.model = Net()
        return self.model

    def _optimizer(self, params: Any) -> Any:
        import torch

        try:  # fused CPU Adam exists in recent torch; it is the fast path
            return torch.optim.Adam(params, lr=ADAM_LR, eps=ADAM_EPS, fused=True)
        except (RuntimeError, TypeError, ValueError):
            return torch.optim.Adam(params, lr=ADAM_LR, eps=ADAM_EPS)

    def train(
        self, x_train: np.ndarray, x_val: np.ndarray, epochs: int, batch_size: int, seed: int = 0
    ) -> dict[str, Any]:
        import torch

        model = self.build(seed)
        opt = self._optimizer(model.parameters())
        xt = torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32))
        xv = torch.from_numpy(np.ascontiguousarray(x_val, dtype=np.float32))
        gen = torch.Generator().manual_seed(seed)
        n = xt.shape[0]
        seconds: list[float] = []
        val_loss: list[float] = []
        for _ in range(epochs):
            start = time.perf_counter()
            model.train()
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, batch_size):
                self.step(opt, xt[perm[i : i + batch_size]])
            model.eval()
            with torch.inference_mode():
                out, _ = model(xv)
                val_loss.append(float(torch.mean((out - xv).square())))
            seconds.append(time.perf_counter() - start)
        return {
            "seconds_per_epoch": seconds,
            "val_loss": val_loss,
            "final_val_loss": mse(self.reconstruct(x_val), x_val),
            "notes": f"eager, {self.threads} threads, randperm + index slicing, "
            f"{type(opt).__name__}(fused={opt.defaults.get('fused')})",
        }

    def step(self, opt: Any, xb: Any) -> None:
        """One optimiser step on batch ``xb``: MSE plus the activity penalty, as Keras."""
        import torch

        out, penalty = self.model(xb)
        loss = torch.mean((out - xb).square()) + penalty
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def reconstruct(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        import torch

        self.model.eval()
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        with torch.inference_mode():
            parts = [self.model(xt[i : i + batch_size])[0] for i in range(0, len(xt), batch_size)]
        return torch.cat(parts).numpy()

    def errors(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        import torch

        self.model.eval()
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        out = torch.empty(len(xt))
        with torch.inference_mode():
            for i in range(0, len(xt), batch_size):
                xb = xt[i : i + batch_size]
                out[i : i + batch_size] = (self.model(xb)[0] - xb).square().mean(dim=1)
        return out.numpy()


# --------------------------------------------------------------------------- PyOD


class PyODAutoencoder:
    """PyOD's ``AutoEncoder`` (torch underneath), set as close to the study as its API allows.

    What cannot match: PyOD mirrors ``hidden_neuron_list`` into a symmetric
    network with ONE hidden activation (relu here; the study mixes relu/tanh), has
    no activity regulariser, uses torch's default (Kaiming-uniform) init, feeds
    batches through a per-row ``DataLoader`` with ``drop_last=True``, and runs no
    validation pass. Batch norm, dropout and weight decay (on by default) are
    switched off and Adam's eps is set to 1e-7 to match the others.
    """

    name = "pyod"

    def __init__(self, arch: Any) -> None:
        self.arch = arch
        self.detector: Any = None

    def hidden_list(self) -> list[int]:
        """Encoder widths up to and including the latent layer; PyOD mirrors the decoder."""
        return [layer.units for layer in self.arch.layers[: self.arch.latent_index + 1]]

    def build(self, seed: int = 0, epochs: int = 1, batch_size: int = 64) -> Any:
        import torch
        from pyod.models.auto_encoder import AutoEncoder

        torch.set_num_threads(_threads())
        stamps: list[float] = []

        class Timed(AutoEncoder):
            # epoch_update() runs once at the end of every epoch: a clean place to clock.
            def epoch_update(self) -> None:
                stamps.append(time.perf_counter())

        det = Timed(
            contamination=0.1,
            preprocessing=False,  # data is already standardised like everyone else's
            lr=ADAM_LR,
            epoch_num=epochs,
            batch_size=batch_size,
            device="cpu",
            random_state=seed,
            verbose=0,
            optimizer_params={"weight_decay": 0.0, "adam_eps": ADAM_EPS},
            hidden_neuron_list=self.hidden_list(),
            hidden_activation_name="relu",
            batch_norm=False,
            dropout_rate=0.0,
        )
        det.feature_size = self.arch.n_features
        det.build_model()
        det.training_prepare()
        self.detector, self._stamps = det, stamps
        return det

    def train(
        self, x_train: np.ndarray, x_val: np.ndarray, epochs: int, batch_size: int, seed: int = 0
    ) -> dict[str, Any]:
        import torch

        det = self.build(seed, epochs, batch_size)
        stamps = self._stamps
        # Replicates fit() up to the training loop; fit() would then score the whole
        # training set, which is not training time.
        from pyod.utils.torch_utility import TorchDataset

        loader = torch.utils.data.DataLoader(
            TorchDataset(X=np.asarray(x_train, dtype=np.float32), y=None),
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
        )
        det.data_num, det.feature_size = x_train.shape
        start = time.perf_counter()
        det.train(loader)
        edges = [start, *stamps]
        seconds = [b - a for a, b in itertools.pairwise(edges)]
        return {
            "seconds_per_epoch": seconds,
            "val_loss": [],
            "final_val_loss": mse(self.reconstruct(x_val), x_val),
            "notes": f"AutoEncoder(hidden_neuron_list={self.hidden_list()}, relu, no batch norm, "
            "no dropout, no weight decay); DataLoader drop_last; no activity L1; torch init",
        }

    def reconstruct(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        import torch

        model = self.detector.model
        model.eval()
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        with torch.inference_mode():
            parts = [model(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)]
        return torch.cat(parts).numpy()

    def errors(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        recon = self.reconstruct(x, batch_size)
        return np.mean(np.square(recon - x), axis=1)


COMPETITORS = {
    "keras": KerasAutoencoder,
    "torch": TorchAutoencoder,
    "pyod": PyODAutoencoder,
}
