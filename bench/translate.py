"""Decoding speed of a translation run: TensorFlow vs its ONNX files in onnxruntime.

    python -m bench.translate runs/translate-...          # after `python -m export RUN`
    python -m bench.translate RUN --words 512 --beam 5

Both sides run the same NumPy search (`rnn_keras_common.decoding`) over the same
test words; only the encoder and the decoder step differ (Keras functions compiled
with `tf.function`, or the two ONNX files). Rows: words per second at batch 1 and
at batch 256, greedy and with the beam; both must give the same pronunciations
(counted). Nothing here is asserted in tests.
"""

import pathlib
import time

from bench import cli
from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.cli import positive_int


def words_per_second(decode, words, batch):
    """`decode(list of words)` over `words` in batches of `batch`: words/s and the outputs."""
    decode(words[:batch])  # warm-up: compiles TensorFlow's functions for this shape
    out, t0 = [], time.perf_counter()
    for i in range(0, len(words), batch):
        out += decode(words[i : i + batch])
    return len(words) / (time.perf_counter() - t0), out


def main(argv=None):
    p = cli_parser("python -m bench.translate", __doc__)
    p.add_argument("run_dir")
    p.add_argument("--words", type=positive_int, default=256, help="test words decoded per row")
    p.add_argument("--beam", type=positive_int, default=5)
    args = p.parse_args(argv)
    from rnn_keras_common.run_config import read_run_config

    if (task := read_run_config(args.run_dir).task) != "translate":
        p.error(f"{args.run_dir} was trained with --task {task}; pass a translate run")
    from bench import isa
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from export import api, runtime
    from rnn_keras.data import pairs
    from rnn_keras.tasks.seq2seq import KerasDecoding
    from rnn_keras_common.vocab import pad

    run = pathlib.Path(args.run_dir)
    model, cfg, vocab, _ = api.load_run_model(run)
    ort = runtime.load(run / "encoder.onnx")
    splits, _ = pairs.cmudict_splits(cfg["stress"])
    words = sorted(splits["test"])[: args.words]
    tf_side = KerasDecoding(model)

    def tf_decode(beam):
        def decode(batch):
            found = tf_side.decode(pad([vocab.encode(w) for w in batch]), cfg["max_output"], beam)
            return [" ".join(ort.targets.decode_tokens(h[0][0])) for h in found]

        return decode

    print(f"CPU: {isa.describe()}; {len(words)} CMUdict test words")
    print(
        f"{'decoding':>10} {'batch':>6} {'TensorFlow w/s':>15} {'onnxruntime w/s':>16} {'same':>6}"
    )
    for beam in (1, args.beam):
        for batch in (1, 256):
            tf_rate, tf_out = words_per_second(tf_decode(beam), words, batch)
            ort_rate, ort_out = words_per_second(
                lambda b, beam=beam: ort.translate(b, beam=beam), words, batch
            )
            same = sum(a == b for a, b in zip(tf_out, ort_out))
            name = "greedy" if beam == 1 else f"beam {beam}"
            print(f"{name:>10} {batch:>6} {tf_rate:>15.1f} {ort_rate:>16.1f} {same:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli(main))
