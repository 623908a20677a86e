"""`bench --isa avx2` caps every library's kernels in a restarted process, and says so."""

import os
import subprocess
import sys

from bench import isa


def test_cap_sets_every_librarys_variable_and_keeps_other_xla_flags(monkeypatch):
    for variable, _ in isa.CAPS.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv(isa.MARK, raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    isa.cap("avx2")
    assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"
    assert os.environ["XLA_FLAGS"] == (
        "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX2 --xla_cpu_experimental_ynn_fusion_type="
    )  # YNNPACK, which ignores XLA's cap, off
    monkeypatch.setattr(isa, "flags", lambda: "AVX-512")
    assert isa.describe().startswith("AVX-512 capped to AVX2")
    monkeypatch.setattr(isa, "flags", lambda: "AVX2")
    assert isa.describe() == "AVX2"  # nothing to cap on an AVX2 machine


def test_restart_capped_runs_the_command_again_in_a_capped_process():
    env = {k: v for k, v in os.environ.items() if k != isa.MARK}
    code = "from bench import isa; isa.restart_capped('avx2', 'bench.isa', []); print('not here')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "not here" not in out
    assert "oneDNN: ONEDNN_MAX_CPU_ISA=AVX2" in out and "MKL: MKL_ENABLE_INSTRUCTIONS=AVX2" in out


def test_onednn_names_what_our_processes_run_and_tensorflows_own_default(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr(isa, "cpu_flags", lambda: {"avx2", "fma"})  # an AVX2-only EPYC
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    assert isa.onednn() == "TensorFlow oneDNN on (TensorFlow's default here: off, no VNNI/BF16/AMX)"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    monkeypatch.setattr(isa, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_vnni"})
    assert isa.onednn() == "TensorFlow oneDNN off (TensorFlow's default here: on)"


def test_onednn_is_turned_on_on_x86_only_where_it_was_measured(monkeypatch):
    from rnn_keras_common import _quiet

    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr(_quiet.platform, "machine", lambda: "aarch64")
    _quiet.use_onednn()
    assert "TF_ENABLE_ONEDNN_OPTS" not in os.environ  # TensorFlow's own choice there
    monkeypatch.setattr(_quiet.platform, "machine", lambda: "x86_64")
    _quiet.use_onednn()
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"


def test_model_names_the_cpu_with_its_family_and_model_and_flags_come_from_the_same_file(
    tmp_path, monkeypatch
):
    cpuinfo = tmp_path / "cpuinfo"  # two cores of a Zen 4 EPYC, as a VM shows them
    core = "processor\t: {}\nmodel name\t: AMD EPYC\ncpu family\t: 25\nmodel\t\t: 17\n"
    core += "flags\t\t: fpu avx2 fma avx512f avx512_vnni\n\n"
    cpuinfo.write_text(core.format(0) + core.format(1))
    monkeypatch.setattr(isa, "CPUINFO", str(cpuinfo))
    assert isa.model() == "AMD EPYC (family 25, model 17)"
    assert isa.cpu_flags() == {"fpu", "avx2", "fma", "avx512f", "avx512_vnni"}
    assert isa.flags() == "AVX-512"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2\n")  # no name, family or model
    monkeypatch.setattr("platform.processor", lambda: "")
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    assert isa.model() == "x86_64"
    assert isa.flags() == "AVX2"
    monkeypatch.setattr(isa, "CPUINFO", str(tmp_path / "missing"))
    assert isa.cpu_flags() == set() and isa.flags() == "x86_64"


def test_xla_knows_every_flag_of_the_cap():
    """XLA aborts on a flag it does not know (a renamed one would turn every capped run into a
    crash), so run one compiled product under the cap's XLA_FLAGS."""
    env = dict(os.environ, XLA_FLAGS=isa.CAPS["XLA"][1], TF_CPP_MIN_LOG_LEVEL="2")
    code = (
        "from rnn_keras_common._quiet import import_tensorflow; import_tensorflow()\n"
        "import tensorflow as tf\n"
        "f = tf.function(lambda a: a @ a, jit_compile=True)\n"
        "print(float(tf.reduce_sum(f(tf.ones((4, 4))))))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "64.0"
