"""onnxruntime inference from the command line (no TensorFlow needed).

python -m export.infer RUN/step.onnx --prime "ROMEO:" --length 400 --device cpu
python -m export.infer RUN --prime "ROMEO:"       # a run folder: its step.onnx, encoder or model
python -m export.infer RUN/model.onnx --text "Tobeornottobe"        # tag or classify
python -m export.infer RUN/encoder.onnx --text "anthropomorphic" --beam 5 --nbest 3  # translate
python -m export.infer RUN --text words.txt                        # a file: a line (word) each
python -m export.infer RUN --text reviews.txt --lines              # classify: a label per line
cut -f1 reviews.tsv | python -m export.infer RUN --text - --lines  # standard input
python -m export.infer RUN/image_encoder.onnx --image scene.png --beam 5  # caption
python -m export.infer RUN/image_encoder.onnx --image photos/            # a line per image
python -m export.infer RUN --evaluate test.tsv                     # score a labelled file
python -m export.infer LM_RUN --evaluate held_out.txt              # an LM: nats/char on a text
python -m export.infer RUN/step.onnx --compare RUN                  # TensorFlow side by side
python -m export.infer RUN/model.onnx --text "..." --runtime openvino  # the same file in OpenVINO
"""

import sys

from rnn_keras_common.cli import fill_defaults, seed_type, text_or_file, unread_flags
from rnn_keras_common.cli import parser as cli_parser
from rnn_keras_common.images import image_files
from rnn_keras_common.vocab import translation_sources_by_line

# what each kind of model reads, with the value a flag left out takes
LM_DEFAULTS = dict(prime="\n", length=400, temperature=0.8, top_k=0, top_p=1.0, seed=0, fast=False)
DEFAULTS = {**LM_DEFAULTS, "beam": 1, "nbest": 1, "lines": False, "max_output": None}
LM = tuple(LM_DEFAULTS)
READS = {
    "lm": (*LM, "evaluate"),
    "tag": ("text", "evaluate"),
    "classify": ("text", "lines", "evaluate"),
    "translate": ("text", "beam", "nbest", "max_output", "evaluate"),
    "caption": ("image", "beam", "nbest", "max_output", "evaluate"),
}


def parse_args(argv):
    p = cli_parser("python -m export.infer", __doc__)
    p.add_argument(
        "model", help="an .onnx file written by `python -m export`, or the run folder it is in"
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="cpu (default); cuda: an NVIDIA GPU (requirements-gpu.txt), an error where it "
        "cannot run there; auto: cuda when onnxruntime offers it, else cpu",
    )
    p.add_argument(
        "--runtime",
        choices=["onnxruntime", "openvino"],
        default="onnxruntime",
        help="run the file in onnxruntime, or in OpenVINO (optional package; CPU)",
    )
    _model_flags(p)
    p.add_argument(
        "--compare",
        metavar="RUN_DIR",
        help="also run the TensorFlow model of RUN_DIR and print the max difference",
    )
    return p.parse_args(argv)


def _model_flags(p):
    """What one kind of model reads; None = not given: a flag the model does not read is
    refused (`refuse_unread`)."""
    p.add_argument("--prime", help="lm: text to start from (default: a line break)")
    p.add_argument("--length", type=int, help="lm: characters to generate (default 400)")
    p.add_argument("--temperature", type=float, help="lm: sampling temperature (default 0.8)")
    p.add_argument("--top-k", type=int, help="lm: keep the k most likely (default 0 = off)")
    p.add_argument("--top-p", type=float, help="lm: nucleus mass (default 1 = off)")
    p.add_argument(
        "--seed", type=seed_type, help="lm: the same seed gives the same text (default 0)"
    )
    p.add_argument(
        "--fast",
        action="store_true",
        default=None,
        help="lm: bind inputs/outputs once (IOBinding), the states kept in its buffers; "
        "with --device cuda, CUDA graphs",
    )
    p.add_argument(
        "--text",
        help="tag/classify/translate: the input text, a UTF-8 file of it, or - (standard input)",
    )
    p.add_argument(
        "--lines",
        action="store_true",
        default=None,
        help="classify: each line of --text is a text of its own (a label line each)",
    )
    p.add_argument(
        "--evaluate",
        metavar="FILE",
        help="score the model on a file of yours: classify and tag, a labelled file in the "
        "formats --data reads (a segmenter: a text, its spaces the answers): accuracy, macro-F1 "
        "and per label; translate: WER, PER, BLEU; caption (a folder): exact match, BLEU-4; "
        "lm: a text, nats and bits per character",
    )
    p.add_argument("--image", nargs="+", help="caption: PNG/JPEG images (a line each)")
    p.add_argument("--beam", type=int, help="translate/caption: beam width (default 1 = greedy)")
    p.add_argument(
        "--nbest",
        type=int,
        help="translate/caption: print the n best (default 1; the beam widens to at least n)",
    )
    p.add_argument(
        "--max-output",
        type=int,
        help="translate/caption: most tokens decoded per input (default: the run's)",
    )


def _readers(flag):
    """`translate and caption`: the models that read `flag`."""
    tasks = [t for t, reads in READS.items() if flag in reads]
    return " and ".join([", ".join(tasks[:-1]), tasks[-1]] if len(tasks) > 1 else tasks)


def refuse_unread(args, task):
    """`ValueError` naming each given flag a `task` model would ignore; then the defaults."""
    unread = unread_flags(args, (*DEFAULTS, "text", "image", "evaluate"), READS[task])
    if unread:
        named = " and ".join(f"--{k.replace('_', '-')} (for {_readers(k)} models)" for k in unread)
        article = "an" if task == "lm" else "a"
        them = "them" if len(unread) > 1 else "it"
        raise ValueError(
            f"This is {article} {task} model: it would ignore {named}. Leave {them} out."
        )
    fill_defaults(args, DEFAULTS)


def main(argv=None):
    args = parse_args(argv)
    from . import runtime

    args.model = str(runtime.resolve(args.model))  # a run folder: its main exported file
    model = runtime.load(args.model, device=args.device, runtime=args.runtime)
    for note in (runtime.stale_note(args.model, model.meta), form_note(model)):
        if note:
            print(note, file=sys.stderr)
    task = model.meta["task"]
    if task == "lm" and args.evaluate is not None:  # the text as it is: nothing is generated
        if given := [f"--{k.replace('_', '-')}" for k in LM if getattr(args, k) is not None]:
            raise ValueError(f"--evaluate scores its text as it is; leave out {', '.join(given)}.")
    refuse_unread(args, task)
    if args.text is not None:
        args.text = text_or_file(args.text)  # a file: its lines tagged, words translated
    run = _matching_run(args, model) if args.compare else None  # refused before any output
    if args.evaluate is not None:
        _evaluate(model, args)
    elif task == "lm":
        if args.length < 0:
            raise ValueError("--length must be >= 0.")
        _generate(model, args)
    elif args.text is None and task != "caption":
        raise ValueError(f'This is a {task} model: pass --text "...".')
    elif task == "tag":
        _tag(model, args.text)
    elif task == "translate":
        _translate(model, args)
    elif task == "caption":
        if args.image is None:
            raise ValueError("This is a captioning model: pass --image FILE.png.")
        paths = [str(p) for p in image_files(args.image)]  # a folder: its images
        found = model.caption(paths, args.beam, args.nbest, max_len=args.max_output)
        print_decoded(paths, found, args.nbest)
        _capped_note(model, args.max_output)
    else:
        _classify(model, args)
    if run:
        _compare(args, model, run)
    return 0


def _generate(model, args):
    """The prime, then each character as it is sampled (a terminal shows the text grow)."""
    fast = dict(fast=args.fast, cuda_graph=args.fast and args.device == "cuda")
    sampling = (args.temperature, args.top_k, args.top_p, args.seed)
    characters = model.stream(args.prime, args.length, *sampling, **fast)
    print(args.prime, end="", flush=True)
    for c in characters:
        print(c, end="", flush=True)
    print()


def _evaluate(model, args):
    from . import evaluate

    if args.text is not None or args.image is not None or args.lines or args.nbest > 1:
        raise ValueError(
            "--evaluate reads its own labelled file and scores the best answer; leave out "
            "--text, --image, --lines and --nbest."
        )
    result = evaluate.evaluate(model, args.evaluate, beam=args.beam, max_len=args.max_output)
    print(evaluate.report(result, args.evaluate))


def _tag(model, text):
    """A character tagger segments the text (line breaks kept); a token tagger (CoNLL data)
    tags each non-blank line as one sentence, a line of `token/TAG` each."""
    from .runtime import TokenTagger

    if not isinstance(model, TokenTagger):
        print(model.tag(text))
        return
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    for line in lines:
        print(" ".join(f"{t}/{tag}" for t, tag in model.tag(line)))
    if unsplit := unsegmented(model, lines):
        print(
            f"note: {unsplit[0][:20]!r} is one token this tagger never saw: it reads tokens "
            "separated by spaces, as its training data had them, and a text in a script "
            "written without spaces (Chinese, Japanese, Thai) must be split into words first.",
            file=sys.stderr,
        )


def unsegmented(model, lines):
    """Unknown tokens of `lines` that look like several words of a script written without
    spaces: what a CoNLL tagger of such a language is given when its text is not split."""
    from rnn_keras_common.scripts import unspaced_share

    known = set(model.vocab.chars)
    tokens = [t for line in lines for t in model.vocab.split(line) if t not in known]
    return [t for t in tokens if len(t) > 3 and unspaced_share([t]) > 0.5]


def _classify(model, args):
    """The passage's label with the top five; with --lines, `label (p)  line` for each line."""
    if not args.lines:
        label, probs = model.classify(args.text)
        top = sorted(probs.items(), key=lambda kv: -kv[1])[:5]
        print(f"{label} ({probs[label]:.3f})  top: " + " ".join(f"{k}={v:.3f}" for k, v in top))
        return
    lines = [line for line in args.text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("--text holds no line to classify.")
    for line, (label, probs) in zip(lines, model.classify_many(lines)):
        print(f"{label} ({probs[label]:.3f})  {line}")


def _translate(model, args):
    # nothing but blank lines: one empty source, refused as an empty text
    sources = translation_sources_by_line(model.vocab, args.text) or [""]
    found = model.translate(sources, args.beam, args.nbest, max_len=args.max_output)
    print_decoded(sources, found, args.nbest)
    _capped_note(model, args.max_output)


def _capped_note(model, given):
    """A note when outputs stopped at the token limit, not at their end (a runaway decoder,
    or targets longer than the run's --max-output)."""
    if model.capped:
        limit, whose = (given, "your") if given else (model.max_output, "the run's")
        print(
            f"note: {model.capped} output(s) reached {whose} --max-output of {limit} tokens "
            "before the model ended them; pass a larger --max-output to let them finish.",
            file=sys.stderr,
        )


def print_decoded(inputs, found, nbest):
    """One input: its output (or n best). Several (words, images): one line (or block) each,
    named by the input."""
    for source, result in zip(inputs, found):
        label = f"{source}  " if len(inputs) > 1 else ""
        if nbest == 1:
            print(f"{label}{result}")
            continue
        if label:
            print(source)
        for text, score in result:
            print(f"{score:8.4f}  {text}")


def form_note(model):
    """A hint when a step-by-step form (Scan, Loop) of a sequence model runs on CUDA."""
    path = model.meta.get("path")
    on_gpu = "CUDAExecutionProvider" in model.session.get_providers()
    if on_gpu and model.meta["kind"] == "sequence" and path in ("scan", "loop"):
        return (
            f"note: {model.path.name} was exported with --path {path}, which runs on the GPU "
            "one step at a time; `python -m export RUN_DIR --path native` writes the CUDA form."
        )
    return None


def _matching_run(args, model):
    """`(model, cfg, vocab, sample)` of the `--compare` run; refused unless the model is its."""
    from rnn_keras_common._quiet import import_tensorflow

    import_tensorflow()
    from . import api

    tf_model, cfg, vocab = api.load_matching_run(model.meta, args.compare)
    return tf_model, cfg, vocab, api.run_sample(args.compare, cfg)


def _compare(args, model, run):
    from . import parity

    tf_model, cfg, vocab, sample = run
    if model.meta["task"] in ("translate", "caption"):
        from . import seq2seq

        files = {"encoder": args.model, "decoder_step": model.step_model.path}
        diff = seq2seq.check(tf_model, files, sample, vocab, args.device)
        print(f"max abs difference TensorFlow vs onnxruntime ({args.device}): {diff:.3g}")
        return
    tokens = parity.real_inputs(cfg, vocab, model.meta["kind"], text=sample)
    diff = parity.max_difference(tf_model, args.model, tokens, args.device)
    print(f"max abs difference TensorFlow vs onnxruntime ({args.device}): {diff:.3g}")


def cli(argv=None):
    """The console script: user errors end as one `error:` line, exit 2."""
    from .cli_errors import run_cli

    return run_cli(lambda: main(argv))


if __name__ == "__main__":
    sys.exit(cli())
