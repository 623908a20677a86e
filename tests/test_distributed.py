"""The same loop on tf.distribute: MirroredStrategy over 2 logical CPUs, and a real 2-process
MultiWorkerMirroredStrategy on 127.0.0.1. Each distributed run is its own process (logical
devices and TF_CONFIG are fixed when TensorFlow starts); the default-strategy runs they are
compared with run in this one."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from rnn_keras_common import train_cli
from rnn_keras_common.config import ConfigError, TrainConfig
from tests.helpers import cli_flags, play_text, tiny_flags

pytestmark = pytest.mark.slow

# Same-order sums on one device vs all-reduced sums over replicas: float32 rounding only.
LOSS_RTOL = 1e-5


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return play_text(tmp_path_factory.mktemp("text"), "hamlet", 30000)


def args(text, run_dir, steps=8, *extra):
    return ["train.py", *cli_flags(text, run_dir, steps, batch_size=8, eval_every=4), *extra]


def train(argv, env=None, timeout=240):
    proc = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def train_here(argv):
    """A default-strategy run in this process: it needs no logical devices of its own."""
    assert train_cli.cli(argv[1:]) == 0


def losses(run_dir):
    pointer = (run_dir / "checkpoints" / "latest").read_text().strip()
    return json.loads((run_dir / "checkpoints" / pointer / "state.json").read_text())["losses"]


@pytest.mark.parametrize("extra", [[], ["--label-smoothing", "0.2"]])
def test_mirrored_equals_default_strategy_with_the_same_global_batch(tmp_path, text, extra):
    mirrored = ["--strategy", "mirrored", "--replicas", "2", *extra]
    out = train(args(text, tmp_path / "mirrored", 8, *mirrored))
    assert "replicas 2" in out
    train_here(args(text, tmp_path / "default", 8, *extra))
    np.testing.assert_allclose(
        losses(tmp_path / "mirrored"), losses(tmp_path / "default"), rtol=LOSS_RTOL
    )


def test_resume_under_mirrored_strategy(tmp_path, text):
    steps, run = 40, tmp_path / "run"
    command = [sys.executable, *args(text, run, steps, "--strategy", "mirrored")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer, deadline = run / "checkpoints" / "latest", time.time() + 120
    while time.time() < deadline and not (
        pointer.exists() and int(pointer.read_text().split("-")[1]) >= 5
    ):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(losses(run)) < steps  # killed mid-run
    train(["train.py", "--resume", str(run), "--no-export", "--no-progress"])
    train(args(text, tmp_path / "straight", steps, "--strategy", "mirrored"))
    np.testing.assert_allclose(losses(run), losses(tmp_path / "straight"), rtol=LOSS_RTOL)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def workers(argv, timeout=180):
    """Two processes of `argv` as a 2-worker cluster on 127.0.0.1: (return codes, outputs)."""
    ports = free_ports(2)
    procs = [
        subprocess.Popen(
            [sys.executable, *argv(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TF_CONFIG": tf_config(ports, i)},
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    return [p.returncode for p in procs], outputs


def test_two_process_multi_worker_run_agrees_on_the_weights(tmp_path, text):
    argv = args(text, tmp_path / "run", 6, "--strategy", "multi-worker", "--worker-timeout", "90")
    codes, outputs = workers(lambda i: argv)
    assert codes == [0, 0]
    prints = [re.search(r"Weights fingerprint: (\w+)", o).group(1) for o in outputs]
    assert prints[0] == prints[1]
    assert all("replicas 2" in o for o in outputs)
    assert (tmp_path / "run" / "checkpoints" / "latest").exists()  # written by the chief only
    assert len(losses(tmp_path / "run")) == 6


def test_a_timed_multi_worker_run_plans_one_step_count_for_every_worker(tmp_path, text):
    flags = tiny_flags(batch_size=8, eval_every=10**4, checkpoint_every=10**4)
    argv = ["train.py", "--text", str(text), "--run-dir", str(tmp_path / "run"), *flags]
    argv += ["--minutes", "0.05", "--strategy", "multi-worker", "--worker-timeout", "90"]
    codes, outputs = workers(lambda i: argv)  # README's two-worker command, with no --steps
    assert codes == [0, 0], outputs
    plans = [re.search(r"Planned ([\d,]+) steps", o).group(1) for o in outputs]
    assert plans[0] == plans[1]
    prints = [re.search(r"Weights fingerprint: (\w+)", o).group(1) for o in outputs]
    assert prints[0] == prints[1]


def test_workers_share_one_mean_of_what_each_measured():
    from rnn_keras.train import distributed

    script = (
        "import sys; from rnn_keras.train import distributed as d; "
        "s = d.make_strategy('multi-worker', 60); "
        "print('mean', d.cluster_mean(s, 1.0 + 3.0 * int(sys.argv[1])))"
    )
    codes, outputs = workers(lambda i: ["-c", script, str(i)], timeout=120)
    assert codes == [0, 0]
    assert [re.search(r"mean (\S+)", o).group(1) for o in outputs] == ["2.5", "2.5"]
    assert distributed.cluster_mean(distributed.make_strategy("default"), 4.0) == 4.0


def test_malformed_tf_config_is_a_clear_error(tmp_path, text):
    argv = args(text, tmp_path / "run", 2, "--strategy", "multi-worker")
    proc = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CONFIG": "{not json"},
    )
    assert proc.returncode == 2 and "TF_CONFIG is malformed" in proc.stderr


def test_a_worker_that_never_comes_up_is_a_timeout_not_a_hang(tmp_path, text):
    ports = free_ports(2)
    argv = args(text, tmp_path / "run", 2, "--strategy", "multi-worker", "--worker-timeout", "10")
    started = time.time()
    proc = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CONFIG": tf_config(ports, 0)},
    )
    assert proc.returncode != 0  # killed by the watchdog
    assert "did not happen within 10 s" in proc.stderr
    assert time.time() - started < 90


def test_unknown_strategy():
    with pytest.raises(ConfigError, match="Unknown strategy"):
        TrainConfig(strategy="horovod", steps=1).resolved()


@pytest.mark.parametrize("task", ["translate", "caption"])
def test_mirrored_encoder_decoders_equal_the_default_strategy(tmp_path, task):
    # their batches are (source, target_in) pairs: each member split across the replicas
    from tests.test_caption import colour_folder
    from tests.test_translate import reversal_tsv

    data = (
        reversal_tsv(tmp_path / "rev.tsv") if task == "translate" else colour_folder(tmp_path / "i")
    )
    base = ["train.py", "--task", task, "--data", str(data), "--steps", "4", "--units", "8"]
    base += ["--batch-size", "8", "--eval-batches", "1", "--no-export", "--no-progress"]
    base += ["--no-jit-compile", "--max-output", "8"]
    out = train([*base, "--run-dir", str(tmp_path / "m"), "--strategy", "mirrored"])
    assert "replicas 2" in out
    train_here([*base, "--run-dir", str(tmp_path / "d")])
    np.testing.assert_allclose(losses(tmp_path / "m"), losses(tmp_path / "d"), rtol=LOSS_RTOL)
