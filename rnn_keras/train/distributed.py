"""The same training loop on tf.distribute: MirroredStrategy on one machine,
MultiWorkerMirroredStrategy across machines (`TF_CONFIG`, as TensorFlow documents it).

Each replica takes its slice of the global batch (for the LM: its share of the
TBPTT streams and their carried states). The loss of a replica is its sum over
real tokens divided by the *global* token count, so the all-reduced (summed)
gradient is exactly the single-machine gradient of the global batch. Only the
chief writes checkpoints and records.
"""

import json
import os
import subprocess
import sys

import tensorflow as tf

from rnn_keras.train.steps import (
    StepFunctions,
    dense_gradients,
    masked_cross_entropy,
    model_outputs,
)
from rnn_keras_common.config import ConfigError

STRATEGIES = ("default", "mirrored", "multi-worker")


def configure_devices(strategy, replicas):
    """Split the CPU into `replicas` logical devices for `mirrored` when there is no GPU.

    Must run before TensorFlow initialises its devices (before the first op).
    """
    if strategy != "mirrored" or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)]
    )


def read_tf_config():
    """`TF_CONFIG` parsed and checked: `{"cluster": {...}, "task": {"type", "index"}}`."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ConfigError(
            "--strategy multi-worker needs TF_CONFIG, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        members = cluster[task["type"]]
        if not isinstance(members, list) or not 0 <= int(task["index"]) < len(members):
            raise ValueError(f"task index {task['index']} outside {members}")
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(
            f"TF_CONFIG is malformed ({type(err).__name__}: {err}). It must be JSON "
            'with "cluster" (role -> ["host:port", ...]) and "task" '
            '({"type": role, "index": i}).'
        ) from err
    return config


def is_chief():
    """The chief writes; in a cluster that is `chief` or, without one, worker 0."""
    if not os.environ.get("TF_CONFIG"):
        return True
    config = read_tf_config()
    task = config["task"]
    return task["type"] == "chief" or (
        "chief" not in config["cluster"] and task["type"] == "worker" and int(task["index"]) == 0
    )


def make_strategy(name, timeout_s=120):
    if name not in STRATEGIES:
        raise ConfigError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        # NCCL is GPU-only; on CPUs the replicas reduce through one device
        ops = (
            None if tf.config.list_logical_devices("GPU") else tf.distribute.ReductionToOneDevice()
        )
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=ops)
    read_tf_config()
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_s)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


_WATCHDOG = """
import os, sys, time
parent, timeout, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + timeout
while time.monotonic() < end:
    if os.getppid() != parent:
        sys.exit(0)  # the trainer is gone: nothing to watch
    time.sleep(0.2)
print(message, file=sys.stderr, flush=True)
os.kill(parent, 9)
"""


def cluster_mean(strategy, value):
    """`value` averaged over a multi-worker cluster, the same on every worker; else `value`.

    A timed run's workers each time their own first steps: step counts planned from
    different times would leave the worker with more steps waiting in an all-reduce
    that its peers, already finished, never join.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return value
    mine = strategy.run(lambda: tf.constant(value, tf.float64))  # one per replica
    return float(strategy.reduce(tf.distribute.ReduceOp.MEAN, mine, axis=None))


class Watchdog:
    """Ends the trainer with a clear message if the cluster does not form in time.

    A worker that never comes up would otherwise leave the others waiting forever. The
    watchdog is a separate small process: TensorFlow may wait for peers inside C++ code
    that holds the GIL, where no Python thread or signal handler of ours would run.
    """

    def __init__(self, timeout_s, what):
        self.timeout_s, self.what, self.proc = timeout_s, what, None

    def __enter__(self):
        message = (
            f"error: {self.what} did not happen within {self.timeout_s:.0f} s: a worker "
            "in TF_CONFIG is not up or not reachable. Start every worker (same command, "
            "its own task index), check host:port, or raise --worker-timeout."
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.timeout_s), message]
        )
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


class DistributedStepFunctions(StepFunctions):
    """`gradients`/`apply` run per replica under `strategy`; `evaluate` as usual."""

    def __init__(self, model, optimizer, clip_norm, strategy, label_smoothing=0.0):
        super().__init__(model, optimizer, clip_norm, False, label_smoothing=label_smoothing)
        self.strategy = strategy
        self._grad_fn = tf.function(self._distributed_gradients)
        self._apply_fn = tf.function(self._distributed_apply)
        self.gradients, self.apply = self._gradients_host, self._apply_host

    def _slices(self, array):
        if isinstance(array, (list, tuple)):  # an encoder-decoder's inputs: (source, target_in)
            return [self._slices(a) for a in array]
        replicas = self.strategy.num_replicas_in_sync
        if array.shape[0] % replicas:
            raise ConfigError(
                f"--batch-size {array.shape[0]} must be divisible by the {replicas} replicas."
            )
        size = array.shape[0] // replicas

        def piece(ctx):
            i = ctx.replica_id_in_sync_group
            return tf.constant(array[i * size : (i + 1) * size])

        return self.strategy.experimental_distribute_values_from_function(piece)

    def _gradients_host(self, tokens, targets, weights, states=None):
        split = [self._slices(a) for a in (tokens, targets, weights)]
        split_states = None if states is None else [self._slices(s) for s in states]
        loss, grads, norm, new_states = self._grad_fn(*split, split_states)
        local = self.strategy.experimental_local_results
        states_out = None if new_states is None else [local(s)[0] for s in new_states]
        return local(loss)[0], grads, local(norm)[0], states_out

    def _distributed_gradients(self, tokens, targets, weights, states):
        return self.strategy.run(self._replica_gradients, args=(tokens, targets, weights, states))

    def _replica_gradients(self, tokens, targets, weights, states):
        ctx = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            logits, new_states = model_outputs(self.model, tokens, states, True)
            total, count = masked_cross_entropy(logits, targets, weights, self.label_smoothing)
            loss = total / tf.maximum(ctx.all_reduce(tf.distribute.ReduceOp.SUM, count), 1.0)
        grads = dense_gradients(tape, loss, self.model.trainable_variables)
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)  # the global batch's gradient
        loss = ctx.all_reduce(tf.distribute.ReduceOp.SUM, loss)
        if new_states is not None:
            new_states = [ctx.all_gather(s, axis=0) for s in new_states]  # every stream's state
        return loss, grads, tf.linalg.global_norm(grads), new_states

    def _apply_host(self, grads, norm, lr):
        self._apply_fn(grads, norm, tf.constant(lr))

    def _distributed_apply(self, grads, norm, lr):
        self.optimizer.learning_rate.assign(lr)  # cross-replica: one value for all replicas
        self.strategy.run(self._replica_apply, args=(grads, norm))

    def _replica_apply(self, grads, norm):
        ctx = tf.distribute.get_replica_context()
        grads, _ = tf.clip_by_global_norm(grads, self.clip_norm, use_norm=norm)
        # Keras' optimiser sums gradients over replicas again; ours are already global
        grads = [g / ctx.num_replicas_in_sync for g in grads]
        self.optimizer.apply(grads, self.model.trainable_variables)
