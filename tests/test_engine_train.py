"""Training: determinism, learning, replicas, early stopping, divergence, Keras semantics.

Small tables and few epochs keep this fast; the configs are shared between
tests where possible because each new (architecture, config, shape) compiles.
"""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from aescope.engine import (
    TrainConfig,
    init_params,
    objective,
    reconstruct,
    shuffle_order,
    train,
)
from aescope.errors import ConfigError, DataValidationError, TrainingDivergedError
from aescope.model import Architecture, Layer

ARCH = Architecture.from_hidden(
    6,
    [Layer(16, "tanh"), Layer(2, "linear", activity_l1=1e-3, latent=True), Layer(16, "tanh")],
    name="tiny",
)
CONFIG = TrainConfig(epochs=3, batch_size=32, learning_rate=1e-2)


def _low_rank(n: int, seed: int = 0) -> np.ndarray:
    """Rank-2 structure in 6 columns plus a little noise, standardised."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2)) @ rng.standard_normal((2, 6))
    x += 0.05 * rng.standard_normal((n, 6))
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    x = _low_rank(600)
    return x[:480], x[480:]


@pytest.fixture(scope="module")
def single(data):
    reports = []
    result = train(ARCH, *data, CONFIG, seeds=7, on_epoch=reports.append)
    return result, reports


def _assert_params_equal(a, b, atol=0.0):
    assert len(a) == len(b)
    for la, lb in zip(a, b, strict=True):
        for name in ("kernel", "bias"):
            if atol:
                np.testing.assert_allclose(la[name], lb[name], atol=atol, rtol=0)
            else:
                np.testing.assert_array_equal(la[name], lb[name])


def test_same_seed_same_data_gives_bitwise_identical_weights(data, single):
    first, _ = single
    again = train(ARCH, *data, CONFIG, seeds=7)
    _assert_params_equal(first.replica(0), again.replica(0))
    assert first.histories[0].to_dict() == {
        **again.histories[0].to_dict(),
        "seconds": first.histories[0].seconds,
    }
    other = train(ARCH, *data, CONFIG, seeds=8)
    assert not np.array_equal(other.replica(0)[0]["kernel"], first.replica(0)[0]["kernel"])


def test_history_and_reports(single):
    result, reports = single
    h = result.histories[0]
    assert h.seed == 7 and result.seeds == (7,)
    assert len(h.train_loss) == len(h.val_loss) == len(h.seconds) == 3
    assert h.stopped_epoch == 2 and not h.early_stopped
    assert h.best_epoch == int(np.argmin(h.val_loss))
    # The latent layer carries an activity L1, so the objective is above the plain loss.
    assert all(o > p for o, p in zip(h.train_objective, h.train_loss, strict=True))
    assert all(o > p for o, p in zip(h.val_objective, h.val_loss, strict=True))
    assert [r.epoch for r in reports] == [0, 1, 2] and {r.epochs for r in reports} == {3}
    assert reports[-1].val_loss == (h.val_loss[-1],) and reports[0].active == (True,)
    assert result.params[0]["kernel"].shape == (1, 6, 16)
    assert result.compile_seconds > 0


def test_validation_loss_is_the_plain_reconstruction_error_of_the_kept_weights(data, single):
    result, _ = single
    h = result.histories[0]
    x_val = data[1]
    mse = np.mean((reconstruct(ARCH, result.replica(0), x_val) - x_val) ** 2)
    np.testing.assert_allclose(mse, h.val_loss[h.best_epoch], rtol=1e-5)


def test_learns_low_rank_structure(data):
    result = train(ARCH, *data, TrainConfig(epochs=25, batch_size=32, learning_rate=1e-2))
    h = result.histories[0]
    assert h.val_loss[0] > 0.1  # not trivially solved after one epoch
    assert min(h.val_loss) < 0.03  # variance is 1, rank-2 signal explains ~all of it


def test_epochs_zero_returns_the_initial_weights(data):
    result = train(ARCH, data[0], config=TrainConfig(epochs=0), seeds=[4, 5])
    _assert_params_equal(result.replica(1), init_params(ARCH, 5))
    assert result.histories[1].best_epoch == -1 and result.histories[1].train_loss == []


def test_last_partial_batch_is_averaged_over_its_real_rows():
    """10 rows in batches of 4: 4 + 4 + 2, checked against a plain optax loop."""
    x = _low_rank(10, seed=3)
    config = TrainConfig(epochs=1, batch_size=4, shuffle=False, learning_rate=0.05)
    result = train(ARCH, x, config=config, seeds=1)
    params = init_params(ARCH, 1)
    state = _ADAM.init(params)
    for start in (0, 4, 8):
        params, state = _manual_step(params, state, x[start : start + 4])
    _assert_params_equal(
        result.replica(0), [{k: np.asarray(v) for k, v in p.items()} for p in params], atol=1e-5
    )
    # Without validation data the training loss is what best_epoch follows.
    longer = train(ARCH, x, config=TrainConfig(epochs=4, batch_size=4, shuffle=False), seeds=1)
    h = longer.histories[0]
    assert h.val_loss == [] and h.best_epoch == int(np.argmin(h.train_loss))


_ADAM = optax.adam(0.05, eps=1e-7)


@jax.jit
def _manual_step(params, state, batch):
    def f(p):
        return objective(p, ARCH, batch, jnp.ones(len(batch), jnp.float32), "mse")[0]

    updates, state = _ADAM.update(jax.grad(f)(params), state, params)
    return optax.apply_updates(params, updates), state


def test_shuffle_order_is_a_reproducible_permutation_per_seed_and_epoch():
    a = shuffle_order(1, 0, 100)
    assert sorted(a.tolist()) == list(range(100))
    np.testing.assert_array_equal(a, shuffle_order(1, 0, 100))
    assert not np.array_equal(a, shuffle_order(1, 1, 100))
    assert not np.array_equal(a, shuffle_order(2, 0, 100))


# --- early stopping -------------------------------------------------------------------------

# Training rows sit near 2, validation rows near 0.6: the output drifts from ~0
# towards 2, so the validation loss first falls, then rises once it passes 0.6.
ES_ARCH = Architecture.from_hidden(
    6, [Layer(8), Layer(3, "tanh", latent=True), Layer(8)], name="es"
)
ES_CONFIG = TrainConfig(epochs=40, batch_size=16, learning_rate=3e-3, patience=3)


@pytest.fixture(scope="module")
def es_data():
    rng = np.random.default_rng(0)
    x_train = (2.0 + 0.05 * rng.standard_normal((64, 6))).astype(np.float32)
    x_val = (0.6 + 0.05 * rng.standard_normal((32, 6))).astype(np.float32)
    return x_train, x_val


def test_early_stopping_restores_the_best_epoch(es_data):
    result = train(ES_ARCH, *es_data, ES_CONFIG, seeds=0)
    h = result.histories[0]
    assert h.early_stopped and 0 < h.best_epoch < h.stopped_epoch < 39
    assert h.best_epoch == int(np.argmin(h.val_loss))
    assert h.stopped_epoch == h.best_epoch + ES_CONFIG.patience
    assert all(v > h.val_loss[h.best_epoch] for v in h.val_loss[h.best_epoch + 1 :])
    # The same run cut at the best epoch, without early stopping, ends on those weights.
    cut = TrainConfig(epochs=h.best_epoch + 1, batch_size=16, learning_rate=3e-3)
    at_best = train(ES_ARCH, *es_data, cut, seeds=0)
    _assert_params_equal(result.replica(0), at_best.replica(0), atol=1e-6)
    last = TrainConfig(
        epochs=h.stopped_epoch + 1, batch_size=16, learning_rate=3e-3, restore_best=False
    )
    at_last = train(ES_ARCH, *es_data, last, seeds=0)
    assert not np.allclose(result.replica(0)[-1]["bias"], at_last.replica(0)[-1]["bias"])


def test_stopped_replicas_freeze_while_others_train(es_data):
    keep_last = TrainConfig(
        epochs=40, batch_size=16, learning_rate=3e-3, patience=3, restore_best=False
    )
    # One group of four: the feature-major form (epoch.FEATURE_MAJOR_MIN_REPLICAS).
    grouped = train(ES_ARCH, *es_data, keep_last, seeds=[0, 1, 2, 3], replica_groups=1)
    stops = [h.stopped_epoch for h in grouped.histories]
    assert len(set(stops)) > 1, stops  # replicas stop at different epochs
    assert grouped.seeds == (0, 1, 2, 3) and grouped.params[0]["kernel"].shape == (4, 6, 8)
    assert grouped.best_replica() == int(np.argmin([h.best_loss for h in grouped.histories]))
    assert not np.allclose(grouped.replica(0)[0]["kernel"], grouped.replica(1)[0]["kernel"])
    for k, seed in enumerate((0, 1, 2, 3)):
        alone = train(ES_ARCH, *es_data, keep_last, seeds=seed)
        assert alone.histories[0].stopped_epoch == stops[k]
        _assert_params_equal(grouped.replica(k), alone.replica(0), atol=2e-5)
        np.testing.assert_allclose(
            grouped.histories[k].val_loss, alone.histories[0].val_loss, rtol=1e-5
        )


# --- other options and failures -------------------------------------------------------------


def test_mae_loss_is_reported_as_mae(data):
    config = TrainConfig(epochs=2, batch_size=32, loss="mae", restore_best=False)
    result = train(ARCH, *data, config, seeds=0)
    x_val = data[1]
    mae = np.mean(np.abs(reconstruct(ARCH, result.replica(0), x_val) - x_val))
    mse = np.mean((reconstruct(ARCH, result.replica(0), x_val) - x_val) ** 2)
    np.testing.assert_allclose(result.histories[0].val_loss[-1], mae, rtol=1e-5)
    assert abs(mae - mse) > 1e-3


def test_dropout_is_used_in_training_only(data):
    arch = Architecture.from_hidden(
        6, [Layer(32, dropout=0.5), Layer(2, "linear", latent=True), Layer(32)], name="drop"
    )
    config = TrainConfig(epochs=2, batch_size=32, restore_best=False)
    result = train(arch, *data, config, seeds=0)
    again = train(arch, *data, config, seeds=0)
    _assert_params_equal(result.replica(0), again.replica(0))  # dropout masks are seeded
    x_val = data[1]
    recon = reconstruct(arch, result.replica(0), x_val)
    np.testing.assert_array_equal(recon, reconstruct(arch, result.replica(0), x_val))
    np.testing.assert_allclose(
        result.histories[0].val_loss[-1], np.mean((recon - x_val) ** 2), rtol=1e-5
    )


def test_input_noise_trains_a_denoising_autoencoder(data):
    """Noisy inputs, clean targets: seeded like dropout, validated on clean rows, and the
    same noise for a seed whether its group trains row-major or feature-major."""
    config = TrainConfig(
        epochs=3, batch_size=32, learning_rate=1e-2, input_noise=0.5, restore_best=False
    )
    noisy = train(ARCH, *data, config, seeds=[3, 4, 5, 6], replica_groups=1)  # feature-major
    again = train(ARCH, *data, config, seeds=[3, 4], replica_groups=1)  # row-major
    _assert_params_equal(noisy.replica(0), again.replica(0), atol=1e-6)
    assert noisy.histories[0].val_loss == pytest.approx(again.histories[0].val_loss, rel=1e-5)
    plain = train(ARCH, *data, replace(config, input_noise=0.0), seeds=3)
    assert noisy.histories[0].train_loss[-1] > plain.histories[0].train_loss[-1]
    recon = reconstruct(ARCH, noisy.replica(0), data[1])  # validation rows stay clean
    np.testing.assert_allclose(
        noisy.histories[0].val_loss[-1], np.mean((recon - data[1]) ** 2), rtol=1e-5
    )


def test_divergence_names_epoch_replica_and_remedy(es_data):
    x_train, x_val = es_data
    config = TrainConfig(epochs=3, batch_size=16, learning_rate=1e30)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1 of 3 \(replica 0, seed 4\)") as err:
        train(ES_ARCH, x_train * 1e3, x_val, config, seeds=4)
    assert "lower learning rate" in str(err.value)
    assert (err.value.epoch, err.value.replica, err.value.seed) == (1, 0, 4)


def test_bad_inputs_are_named(data):
    x = data[0].copy()
    with pytest.raises(DataValidationError, match=r"x_train must have shape \(rows, 6\)"):
        train(ARCH, x[:, :5], config=CONFIG)
    x[5, 2] = np.nan
    with pytest.raises(DataValidationError, match="row 5, column 2"):
        train(ARCH, x, config=CONFIG)
    with pytest.raises(DataValidationError, match="x_val has no rows"):
        train(ARCH, data[0], data[1][:0], config=CONFIG)
    with pytest.raises(ConfigError, match="seeds"):
        train(ARCH, data[0], config=CONFIG, seeds=-1)
    with pytest.raises(ConfigError, match="at least one seed"):
        train(ARCH, data[0], config=CONFIG, seeds=[])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"beta2": 1.0}, "beta2"),
        ({"loss": "huber"}, "loss must be one of mse, mae"),
        ({"patience": -2}, "patience"),
        ({"min_delta": -0.1}, "min_delta"),
        ({"input_noise": -0.1}, "input_noise must be >= 0"),
        ({"input_noise": float("nan")}, "input_noise must be >= 0"),
    ],
)
def test_config_validation(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        TrainConfig(**kwargs)


def test_config_round_trips_through_dict():
    config = TrainConfig(epochs=5, patience=2, loss="mae")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown field"):
        TrainConfig.from_dict({"epoch": 3})
