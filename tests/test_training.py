"""The BPTT training loop on real (bundled) text, with tiny configs."""

import dataclasses
import json
import time

import keras
import numpy as np
import pytest

from rnn_keras.tasks.generate import Generator
from rnn_keras.train import checkpoint, training
from rnn_keras_common.config import TrainConfig
from tests import helpers
from tests.helpers import exploding, tiny

TINY = tiny(
    units=32,
    batch_size=8,
    seq_len=20,
    eval_every=10,
    checkpoint_every=6,
    warmup_steps=3,
    eval_batches=3,
)


@pytest.fixture(scope="module")
def play_text(tmp_path_factory):
    """About 40,000 characters of real Shakespeare, as a user's --text file."""
    return helpers.play_text(tmp_path_factory.mktemp("text"), "hamlet", 40000)


def test_lm_loss_falls_on_real_text(tmp_path, play_text):
    cfg = TrainConfig(text=play_text, steps=120, lr=1e-2, **{**TINY, "eval_every": 60, "units": 64})
    trainer, result = training.train_and_evaluate(cfg, tmp_path / "run")
    first, last = np.mean(trainer.losses[:5]), np.mean(trainer.losses[-5:])
    assert last < first - 0.8, (first, last)  # from ~log(vocab) toward real structure
    assert result["val_loss"] < 2.9  # the unigram entropy of this text is ~3.3 nats
    for name in ("config.json", "vocab.json", "best.keras", "metrics.csv", "loss.png"):
        assert (tmp_path / "run" / name).is_file(), name
    assert (tmp_path / "run" / "tensorboard").is_dir()


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path, play_text, monkeypatch):
    cfg = TrainConfig(text=play_text, steps=14, **TINY)
    full, _ = training.train_and_evaluate(cfg, tmp_path / "full")

    original = training.Trainer.train_one

    def interrupted(self):
        if self.step == 9:  # after the checkpoint at step 6, mid-way to the next
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(training.Trainer, "train_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training.train_and_evaluate(cfg, tmp_path / "cut")
    monkeypatch.setattr(training.Trainer, "train_one", original)
    state = json.loads((checkpoint.latest_dir(tmp_path / "cut") / "state.json").read_text())
    assert state["step"] == 6
    resumed, _ = training.resume(tmp_path / "cut")
    assert len(resumed.losses) == 14
    np.testing.assert_allclose(resumed.losses, full.losses, rtol=1e-6)


def test_nonfinite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, play_text):
    cfg = exploding(play_text, TINY, steps=40, checkpoint_every=1)
    with pytest.raises(training.NonFiniteError, match=r"Step \d+.*not finite"):
        training.train_and_evaluate(cfg, tmp_path / "run")
    model, _, _, state = checkpoint.load(tmp_path / "run")
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert state["step"] >= 1


def test_skip_nonfinite_never_writes_nan_weights(tmp_path, play_text):
    cfg = exploding(play_text, TINY, steps=12, skip_nonfinite=True)
    trainer, result = training.train_and_evaluate(cfg, tmp_path / "run")
    assert result["skipped_steps"] > 0
    assert all(np.isfinite(w).all() for w in trainer.model.get_weights())


def test_sampling_is_deterministic_per_seed(tmp_path, play_text):
    cfg = TrainConfig(text=play_text, steps=20, **TINY)
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "run")
    gen = Generator(trainer.model, trainer.task.vocab)
    a = gen.generate("HAMLET:", 80, temperature=0.9, top_k=20, top_p=0.95, seed=7)
    b = gen.generate("HAMLET:", 80, temperature=0.9, top_k=20, top_p=0.95, seed=7)
    c = gen.generate("HAMLET:", 80, temperature=0.9, top_k=20, top_p=0.95, seed=8)
    assert a == b and a != c
    assert a.startswith("HAMLET:") and len(a) == len("HAMLET:") + 80


def test_tag_task_trains_and_reports_f1(tmp_path, play_text):
    cfg = TrainConfig(task="tag", text=play_text, steps=30, **{**TINY, "seq_len": 40})
    trainer, result = training.train_and_evaluate(cfg, tmp_path / "run")
    assert 0.0 < result["val_f1"] <= 1.0
    assert result["val_accuracy"] > 0.5
    assert np.mean(trainer.losses[-5:]) < np.mean(trainer.losses[:5])


def test_classify_task_reports_accuracy_and_majority_baseline(tmp_path):
    cfg = TrainConfig(task="classify", steps=8, **{**TINY, "seq_len": 4, "units": 16})
    _, result = training.train_and_evaluate(cfg, tmp_path / "run")
    assert 0.0 < result["majority_baseline"] < 1.0
    assert 0.0 <= result["val_accuracy"] <= 1.0


def test_recurrent_gain_reaches_every_layer_of_the_lm():
    from rnn_keras.tasks.lm import char_lm

    model = char_lm(12, units=6, num_layers=3, recurrent_gain=0.5)
    ws = [v.numpy() for v in model.weights if v.path.endswith("recurrent_kernel")]
    assert len(ws) == 3
    for w in ws:
        np.testing.assert_allclose(w.T @ w, 0.25 * np.eye(6), atol=1e-5)


def test_lm_dropout_drops_between_layers_in_training_only():
    # Zaremba et al.: dropout on the connections between layers, never on s_{t-1}; so the
    # first layer's final state is untouched by it and the second layer's is not
    from rnn_keras.tasks.lm import char_lm

    keras.utils.set_random_seed(0)
    model = char_lm(12, units=8, num_layers=2, dropout=0.5)
    plain = char_lm(12, units=8, num_layers=2)
    plain.set_weights(model.get_weights())
    tokens = np.random.default_rng(0).integers(0, 12, (4, 9)).astype(np.int32)
    inputs = [tokens, np.zeros((4, 8), np.float32), np.zeros((4, 8), np.float32)]
    for a, b in zip(model(inputs, training=False), plain(inputs, training=False)):
        np.testing.assert_array_equal(a, b)  # inference: no dropout at all
    _, s0, s1 = model(inputs, training=True)
    _, p0, p1 = plain(inputs, training=True)
    np.testing.assert_array_equal(s0, p0)
    assert np.abs(np.asarray(s1) - np.asarray(p1)).max() > 1e-3


def test_lm_dropout_reaches_the_model_from_the_config(tmp_path, play_text):
    from rnn_keras.layers import Dropout

    cfg = TrainConfig(text=play_text, steps=1, **{**TINY, "units": 8, "layers": 3, "dropout": 0.3})
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "run")
    drops = [layer for layer in trainer.model.layers if isinstance(layer, Dropout)]
    assert [d.rate for d in drops] == [0.3, 0.3]  # in front of layers 2 and 3


def test_adam_moves_an_embedding_as_dense_adam_does():
    # Adam's first step moves every weight with a gradient by lr * g / (|g| + eps'), i.e.
    # by lr: also the rows of E whose token came several times in the batch (Keras 3's Adam,
    # given the IndexedSlices of the gather, squared each occurrence apart: up to sqrt(k) lr)
    import tensorflow as tf

    from rnn_keras.tasks.lm import char_lm
    from rnn_keras.train.steps import StepFunctions, make_optimizer

    cfg = TrainConfig(task="lm", units=4, layers=1, embedding=3, clip_norm=1e6, steps=1).resolved()
    model = char_lm(6, 4, 1, embedding=3)
    optimizer = make_optimizer(cfg)
    optimizer.build(model.trainable_variables)
    fns = StepFunctions(model, optimizer, cfg.clip_norm, jit_compile=False)
    x = np.array([[1, 1, 1, 2, 1, 3]], np.int32)  # token 1 four times, 4 and 5 never
    E = model.get_layer("embedding").embeddings
    before = E.numpy()
    _, grads, norm, _ = fns.gradients(x, x, np.ones(x.shape, np.float32), [np.zeros((1, 4), "f4")])
    fns.apply(grads, norm, np.float32(0.01))
    moved = np.abs(E.numpy() - before)
    np.testing.assert_allclose(moved[1:4], 0.01, rtol=1e-3)
    assert not moved[0].any() and not moved[4:].any()
    assert all(isinstance(g, tf.Tensor) for g in grads)  # dense, none IndexedSlices


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_is_keras_categorical_crossentropy_over_real_steps(smoothing):
    import keras

    from rnn_keras.train.steps import masked_cross_entropy

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7)).astype(np.float32)  # (batch, time, classes)
    targets = rng.integers(0, 7, (3, 5))
    weights = (rng.random((3, 5)) > 0.3).astype(np.float32)  # 0 at padding
    total, count = masked_cross_entropy(logits, targets, weights, smoothing)
    reference = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=smoothing, reduction=None
    )(np.eye(7)[targets], logits)
    np.testing.assert_allclose(float(total), float(np.sum(reference * weights)), rtol=1e-5)
    assert float(count) == weights.sum()


def test_label_smoothing_reaches_the_training_loss_only():
    # the step's loss is the smoothed one; evaluation stays the plain cross-entropy, so
    # validation losses compare across runs with and without smoothing
    from rnn_keras.tasks.lm import char_lm
    from rnn_keras.train.steps import StepFunctions, make_optimizer, masked_cross_entropy

    cfg = TrainConfig(task="lm", units=4, layers=1, embedding=3, steps=1, label_smoothing=0.2)
    cfg = cfg.resolved()
    model = char_lm(6, 4, 1, embedding=3)
    fns = StepFunctions(model, make_optimizer(cfg), 1.0, False, label_smoothing=cfg.label_smoothing)
    x = np.array([[1, 2, 3, 4, 5, 1]], np.int32)
    w, s0 = np.ones(x.shape, np.float32), [np.zeros((1, 4), "f4")]
    logits = model([x, *s0])[0]
    loss = fns.gradients(x, x, w, s0)[0]
    counts = fns.evaluate(x, x, w, s0)[0]
    smoothed, plain = (float(masked_cross_entropy(logits, x, w, e)[0]) / 6 for e in (0.2, 0.0))
    np.testing.assert_allclose([float(loss), float(counts["loss"]) / 6], [smoothed, plain], 1e-5)
    assert abs(smoothed - plain) > 1e-3  # the two losses are told apart
    assert TrainConfig(task="lm", steps=1).resolved().label_smoothing == 0.0


def _two_lms(jit):
    """Two char LMs with the same weights, each with its own Adam and step functions."""
    from rnn_keras.tasks.lm import char_lm
    from rnn_keras.train.steps import StepFunctions

    fns = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        model = char_lm(6, 4, 2, embedding=3)
        optimizer = keras.optimizers.Adam(0.01)
        optimizer.build(model.trainable_variables)
        fns.append(StepFunctions(model, optimizer, 0.5, jit))
    return fns


def _optimizer_state(fns):
    return [v.numpy() for v in fns.optimizer.variables] + fns.model.get_weights()


@pytest.mark.parametrize("jit", [False, True])
def test_one_step_call_equals_gradients_then_apply(jit):
    # `step` (the loop's one compiled call) is `gradients` then `apply`: the same loss,
    # norm and states, and the same weights and Adam moments after three steps
    one, two = _two_lms(jit)
    x = np.array([[1, 2, 3, 4, 5, 1], [2, 2, 0, 1, 3, 4]], np.int32)
    w, lr = np.ones(x.shape, np.float32), np.float32(0.02)
    s_one = s_two = [np.zeros((2, 4), "f4")] * 2
    for _ in range(3):
        loss, norm, s_one = one.step(x, x, w, s_one, lr)
        loss2, grads, norm2, s_two = two.gradients(x, x, w, s_two)
        two.apply(grads, norm2, lr)
        np.testing.assert_allclose([float(loss), float(norm)], [float(loss2), float(norm2)], 1e-6)
        assert float(norm) > 0.5  # clipped: the clip is part of what is compared
    for a, b in zip(_optimizer_state(one), _optimizer_state(two)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.concatenate(s_one, 1), np.concatenate(s_two, 1), 1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_a_non_finite_step_changes_no_weight_and_no_optimizer_state(jit):
    one, _ = _two_lms(jit)
    x = np.array([[1, 2, 3, 4, 5, 1]], np.int32)
    s0 = [np.zeros((1, 4), "f4")] * 2
    before = _optimizer_state(one)
    loss, norm, _ = one.step(x, x, np.full(x.shape, np.nan, np.float32), s0, np.float32(0.01))
    assert not np.isfinite(float(loss))
    for a, b in zip(_optimizer_state(one), before):  # iterations, moments, weights
        np.testing.assert_array_equal(a, b)
    one.step(x, x, np.ones(x.shape, np.float32), s0, np.float32(0.01))  # a finite one moves
    assert int(one.optimizer.iterations.numpy()) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(_optimizer_state(one), before))


def test_a_capped_evaluation_reads_batches_spread_over_the_examples():
    from rnn_keras.tasks.base import in_batches

    examples = list(range(10))
    spread = list(in_batches(examples, 2, limit=3, arrays=list))
    assert spread == [[0, 1], [4, 5], [8, 9]]  # not the first three batches
    assert list(in_batches(examples, 4, limit=3, arrays=list)) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert len(list(in_batches(examples, 2, limit=0, arrays=list))) == 5


def test_a_run_says_when_its_evaluations_read_part_of_the_validation(tmp_path, play_text, capsys):
    cfg = TrainConfig(task="tag", text=play_text, steps=2, **{**TINY, "seq_len": 40})
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "run")
    total = -(-len(trainer.task.val) // cfg.batch_size)
    assert total > 3 and len(list(trainer.task.val_batches())) == 3
    note = f"validation: each evaluation reads 3 of the {total} batches, spread over them"
    assert note in capsys.readouterr().out
    whole = TrainConfig(
        task="tag", text=play_text, steps=2, **{**TINY, "seq_len": 40, "eval_batches": 0}
    )
    trainer, _ = training.train_and_evaluate(whole, tmp_path / "run", overwrite=True)
    assert len(list(trainer.task.val_batches())) == total
    assert "validation: each evaluation reads" not in capsys.readouterr().out


def test_every_bundled_default_evaluates_all_of_its_validation_data():
    from rnn_keras.tasks import make_task

    assert TrainConfig().resolved().eval_batches == 100  # lm: 640,000 characters
    assert TrainConfig(task="tag").resolved().eval_batches == 200
    for task in ("lm", "tag", "classify", "translate", "caption"):
        cfg = TrainConfig(task=task, steps=1).resolved()
        made = make_task(dataclasses.replace(cfg, eval_batches=0))  # counted, not computed
        total = sum(1 for _ in made.val_batches())
        assert total <= cfg.eval_batches, (task, total)  # the README's figures read all of it


def test_a_classifier_keeps_its_most_accurate_evaluation_and_says_which(
    tmp_path, monkeypatch, capsys
):
    from rnn_keras.tasks import classify
    from rnn_keras.train import report

    # scripted evaluations: the loss is lowest at the second, the accuracy highest at the third
    scripted = iter([(1.0, 0.5), (0.9, 0.4), (1.2, 0.6), (1.1, 0.55)])
    evaluated, saved = [], []

    def metrics(self, totals):
        loss, accuracy = next(scripted)
        evaluated.append(loss)
        return {"val_loss": loss, "val_accuracy": accuracy}

    save = checkpoint.atomic_save_model
    monkeypatch.setattr(classify.Task, "metrics", metrics)
    monkeypatch.setattr(
        checkpoint, "atomic_save_model", lambda m, p: (saved.append(len(evaluated)), save(m, p))
    )
    data = helpers.rule_tsv(tmp_path / "rule.tsv", n=80)
    cfg = TrainConfig(task="classify", data=str(data), steps=6, **{**TINY, "eval_every": 2})
    trainer, result = training.train_and_evaluate(cfg, tmp_path / "run")
    assert saved == [1, 3]  # by val_accuracy; by val_loss it would have been [1, 2]
    report.finish(trainer, result, tmp_path / "run")
    out = capsys.readouterr().out
    assert (
        "best.keras (what `python -m export` writes): step 6, the highest val_accuracy (0.6)" in out
    )
    state_file = checkpoint.latest_dir(tmp_path / "run") / "state.json"
    state = json.loads(state_file.read_text())
    assert state["best_by"] == "val_accuracy" and state["best"] == -0.6
    del state["best_by"]  # a run from before: it goes on choosing by the loss
    state["best"] = 0.9
    state_file.write_text(json.dumps(state))
    resumed, _ = training.resume(tmp_path / "run", dataclasses.replace(cfg, steps=8))
    assert resumed.best_by == "val_loss" and saved == [1, 3]  # 1.1 is no better than 0.9


def test_best_keras_is_named_by_the_lowest_loss_for_other_tasks():
    from rnn_keras.tasks import lm
    from rnn_keras.train import best

    assert best.criterion(lm.Task) == "val_loss"
    rows = [
        {"step": 5, "val_loss": 2.0},
        {"step": 10, "val_loss": 1.5},
        {"step": 15, "val_loss": 1.5},
    ]
    assert best.describe(rows, "val_loss").endswith("step 10, the lowest val_loss (1.5)")
    assert best.describe([], "val_loss") == ""  # no evaluation yet: nothing to name


def test_an_lm_peak_learning_rate_follows_its_steps():
    from rnn_keras_common.config import lm_peak_lr

    assert TrainConfig(steps=1700).resolved().lr == 5e-3  # a slow machine's 5 minutes
    assert TrainConfig(steps=2320).resolved().lr == pytest.approx(3.75e-3)
    assert TrainConfig(steps=4648).resolved().lr == 3e-3  # this machine's 5 minutes
    assert TrainConfig(steps=100, lr=1e-3).resolved().lr == 1e-3  # yours stands
    assert TrainConfig(task="tag", steps=100).resolved().lr == 3e-3  # the lm's rule only
    assert TrainConfig().resolved().lr is None  # a timed run's waits for its planned steps
    cfg = TrainConfig().resolved()
    rates = [lm_peak_lr(cfg, s) for s in (None, 10, 1740, 2900, 10**6)]
    assert rates == pytest.approx([3e-3, 5e-3, 5e-3, 3e-3, 3e-3])
    # measured with Adam and the cosine only: a constant rate was worse at 5e-3
    assert TrainConfig(steps=1700, lr_decay="none").resolved().lr == 3e-3
    assert TrainConfig(steps=1700, optimizer="sgd").resolved().lr == 3e-3


@pytest.mark.parametrize("lr, planned", [(None, 2000), (None, 500), (2e-3, 2000)])
def test_a_timed_lm_run_sets_its_peak_learning_rate_from_its_plan(
    tmp_path, play_text, monkeypatch, capsys, lr, planned
):
    from rnn_keras.train import schedule

    timed_at = []

    def calibrate(trainer, minutes):
        timed_at.append(trainer.cfg.lr)
        return planned

    monkeypatch.setattr(schedule, "calibrate_steps", calibrate)
    monkeypatch.setattr(training.Trainer, "run", lambda self: {})  # the plan, not the run
    cfg = TrainConfig(text=play_text, minutes=1.0, lr=lr, **tiny())
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "run")
    expected = {None: 3e-3 * 2900 / planned if planned > 1740 else 5e-3}.get(lr, lr)
    assert timed_at == [lr or 3e-3]  # the timed steps ran at the long-run peak
    assert trainer.cfg.steps == planned and trainer.cfg.lr == pytest.approx(expected)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["lr"] == pytest.approx(expected)  # a resume follows the same schedule
    out = capsys.readouterr().out
    plan = f"Planned {planned:,} steps for the 1-minute budget; peak learning rate {expected:g}"
    assert plan in out


@pytest.mark.parametrize("slow", [True, False])
def test_a_timed_run_times_its_step_with_and_without_xla_and_keeps_the_faster(
    tmp_path, play_text, monkeypatch, capsys, slow
):
    """Whichever compiler is made slower (by 50 ms a step) is the one left behind, and the
    choice is saved for a resume; `--steps` runs are not timed and keep XLA."""
    from rnn_keras.train import schedule

    one = training.Trainer.train_one

    def train_one(self):
        if self.fns.jit_compile == slow:
            time.sleep(0.05)
        return one(self)

    monkeypatch.setattr(training.Trainer, "train_one", train_one)
    monkeypatch.setattr(schedule, "calibrate_steps", lambda trainer, minutes: 40)
    monkeypatch.setattr(training.Trainer, "run", lambda self: {})  # the choice, not the run
    cfg = TrainConfig(text=play_text, minutes=1.0, **tiny(jit_compile=None))
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "timed")
    assert trainer.fns.jit_compile is (not slow) and trainer.cfg.jit_compile is (not slow)
    assert trainer.step == 12  # 2 compiling and 2 x 5 timed steps, all of them training
    saved = json.loads((tmp_path / "timed" / "config.json").read_text())
    assert saved["jit_compile"] is (not slow)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Training step"))
    assert line.startswith(f"Training step {'without XLA' if slow else 'XLA'}: ")
    cfg = TrainConfig(text=play_text, steps=3, **tiny(jit_compile=None))
    trainer, _ = training.train_and_evaluate(cfg, tmp_path / "counted")
    assert trainer.fns.jit_compile is True and trainer.step == 0
    assert "Training step" not in capsys.readouterr().out
