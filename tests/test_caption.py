"""Captioning: the scene generator, the CNN + attentive decoder against itself, a tiny run
that learns to name colours, its ONNX files against TensorFlow, and users' bad folders."""

import importlib.util
import json

import numpy as np
import pytest

from export import api, infer, runtime
from rnn_keras.data import images, scenes
from rnn_keras.tasks import caption, caption_metrics, seq2seq
from rnn_keras_common import train_cli as train
from rnn_keras_common.config import TrainConfig
from tests.helpers import tiny_flags


def test_scenes_are_deterministic_and_their_captions_describe_them():
    for seed in range(40):
        image, objects, captions = scenes.scene(seed, "train")
        again = scenes.scene(seed, "train")
        np.testing.assert_array_equal(image, again[0])
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        for text in captions:  # parse each caption back into the scene's objects
            found = caption_metrics.OBJECT.findall(text)
            assert sorted(found) == sorted((o["size"], o["colour"], o["shape"]) for o in objects)
        if len(objects) == 2:
            assert len(captions) == 2 and caption_metrics.slots(captions[0])[-1] in scenes.INVERSE
        for obj in objects:
            assert (obj["colour"], obj["shape"]) not in scenes.HELD_OUT
    assert not np.array_equal(scenes.scene(0, "train")[0], scenes.scene(0, "test")[0])
    held = [scenes.scene(i, "compositions")[1] for i in range(20)]
    assert all(any((o["colour"], o["shape"]) in scenes.HELD_OUT for o in objs) for objs in held)


def test_a_splits_scenes_are_made_once_per_process_and_cannot_be_changed_by_a_caller():
    images, captions = scenes.scenes("val", 4, start=2)
    for i in range(4):  # the cache holds what scene() draws
        image, _, want = scenes.scene(2 + i, "val")
        np.testing.assert_array_equal(images[i], image)
        assert captions[i] == want
    assert scenes.scenes("val", 4, start=2)[0] is images  # drawn once
    with pytest.raises(ValueError, match="read-only"):
        images[0, 0, 0] = 0  # one run's change would reach every later run


def test_a_square_is_where_its_caption_says():
    """The colour named is the colour drawn: the pixel at the object's centre."""
    for seed in range(30):
        image, objects, captions = scenes.scene(seed, "val")
        if len(objects) == 1 and objects[0]["shape"] == "square":
            rgb = np.array(scenes.COLOURS[objects[0]["colour"]])
            distances = np.abs(image.reshape(-1, 3).astype(int) - rgb).sum(axis=1)
            assert (distances < 70).sum() > 60  # a small square is about 12x12 pixels
            return
    pytest.fail("no single square among the first scenes")


def test_attribute_accuracy_and_exact_match():
    refs = [["a small red circle left of a large blue square",
             "a large blue square right of a small red circle"]]  # fmt: skip
    right = caption_metrics.scores(["a large blue square right of a small red circle"], refs)
    assert right["exact"] == 1.0 and right["attributes"] == 1.0
    wrong = caption_metrics.scores(["a small red circle left of a large green square"], refs)
    assert wrong["exact"] == 0.0 and wrong["attributes"] == pytest.approx(6 / 7)


def test_teacher_forcing_equals_step_decoding_over_the_image_grid():
    model = caption.captioner(12, units=16)
    images = scenes.scenes("val", 3)[0].astype(np.float32)
    target = np.array([[1, 2, 3, 4], [1, 5, 6, 0], [1, 7, 0, 0]], np.int32)
    want = model([images, target]).numpy()
    decoding = seq2seq.KerasDecoding(model)
    memory, keys, mask, state = decoding.encode(images)
    assert memory.shape == (3, 64, 66) and mask.all()  # 8x8 cells, 64 filters + x, y
    step = decoding.step_for(memory, keys, mask)
    for t in range(target.shape[1]):
        logits, state = step(target[:, t], state, np.arange(3))
        np.testing.assert_allclose(logits, want[:, t], atol=1e-5)


def colour_folder(folder, count=48):
    """Single large squares, captioned by their colour: the smallest thing to learn."""
    from PIL import Image

    folder.mkdir()
    colours = ["red", "green", "blue"]
    lines = []
    rng = np.random.default_rng(0)
    for i in range(count):
        colour = colours[i % 3]
        image = np.full((64, 64, 3), 235, np.uint8)
        x, y = rng.integers(8, 32, 2)
        image[y : y + 24, x : x + 24] = scenes.COLOURS[colour]
        Image.fromarray(image).save(folder / f"{i}.png")
        lines.append(f"{i}.png\ta large {colour} square")
    (folder / "captions.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("colours")
    folder, run = colour_folder(root / "images"), root / "run"
    flags = [
        f
        for f in tiny_flags(units=16, batch_size=8, eval_every=60, seq_len=None)
        if f != "--no-export"
    ]
    argv = ["--task", "caption", "--data", str(folder), "--run-dir", str(run), "--steps", "60"]
    assert train.cli([*argv, *flags, "--lr", "0.01", "--beam", "2", "--val-fraction", "0.2"]) == 0
    return folder, run


def test_a_tiny_run_learns_to_name_the_colour_and_onnxruntime_agrees(colour_run):
    folder, run = colour_run
    model = runtime.load(run / "image_encoder.onnx")
    paths = [folder / f"{i}.png" for i in range(6)]
    want = [f"a large {c} square" for c in ["red", "green", "blue"] * 2]
    assert model.caption(paths) == want
    assert model.caption(paths, beam=2) == want
    assert model.caption(paths, beam=2, batch_size=4) == want  # read and decoded 4, then 2
    tf_model, _, _, _ = api.load_run_model(run)
    images = model.images(paths)
    found = seq2seq.KerasDecoding(tf_model).decode(images, 16, beam=2, nbest=2)
    got = model.caption(paths, beam=2, nbest=2)
    for tf_hyps, ort_hyps in zip(found, got):
        assert [" ".join(model.targets.decode_tokens(t)) for t, _ in tf_hyps] == [
            t for t, _ in ort_hyps
        ]
        np.testing.assert_allclose([s for _, s in tf_hyps], [s for _, s in ort_hyps], atol=1e-4)


def test_infer_captions_a_png_and_refuses_what_is_not_one(colour_run, capsys):
    folder, run = colour_run
    assert infer.main([str(run / "image_encoder.onnx"), "--image", str(folder / "1.png")]) == 0
    assert capsys.readouterr().out.strip() == "a large green square"
    assert (
        infer.cli([str(run / "image_encoder.onnx"), "--image", str(folder / "captions.tsv")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable PNG/JPEG image" in err[0]
    images = [str(folder / f"{i}.png") for i in range(3)]  # several: a named line each
    assert infer.main([str(run / "image_encoder.onnx"), "--image", *images]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}  a large {c} square" for path, c in zip(images, ["red", "green", "blue"])
    ]
    assert infer.main([str(run / "image_encoder.onnx"), "--image", images[0], "--nbest", "2",
                       "--beam", "2"]) == 0  # fmt: skip
    best = capsys.readouterr().out.splitlines()
    assert len(best) == 2 and best[0].endswith("  a large red square")
    with pytest.raises(ValueError, match=r"\(64, 64, 3\)"):
        runtime.load(run / "image_encoder.onnx").caption(np.zeros((32, 32, 3)))


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_tsv", "captions.tsv: no such file"),
        ("missing_image", "no such image"),
        ("bad_image", "not a readable PNG/JPEG image"),
        ("empty_caption", "line 2: the caption of 1.png is empty"),
    ],
)
def test_bad_caption_folders_get_one_error_line(tmp_path, capsys, case, message):
    folder = colour_folder(tmp_path / "images", count=6)
    tsv = folder / "captions.tsv"
    if case == "no_tsv":
        tsv.unlink()
    elif case == "missing_image":
        (folder / "3.png").unlink()
    elif case == "bad_image":
        (folder / "3.png").write_text("not a picture")
    else:
        lines = tsv.read_text().splitlines()
        lines[1] = "1.png\t   "
        tsv.write_text("\n".join(lines) + "\n")
    argv = ["--task", "caption", "--data", str(folder), "--run-dir", str(tmp_path / "run")]
    assert train.cli([*argv, "--steps", "2", *tiny_flags(seq_len=None)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err
    assert not (tmp_path / "run").exists()


def test_a_flickr8k_style_captions_file_names_each_image_once(tmp_path):
    folder = colour_folder(tmp_path / "images", count=3)
    (folder / "captions.tsv").write_text(
        "image\tcaption\n0.png#0\tA red square .\n0.png#1\tred\n1.png\tgreen\n"
        "2.png\tblue\n", encoding="utf-8"
    )  # fmt: skip
    captions, _ = images.read_captions(folder)
    assert captions == {"0.png": ["a red square .", "red"], "1.png": ["green"], "2.png": ["blue"]}


def kaggle_folder(tmp_path, count=6):
    """Kaggle's Flickr8k layout: `captions.txt`, a CSV with a header, and images in `Images/`."""
    folder = colour_folder(tmp_path / "flickr", count=count)
    (folder / "Images").mkdir()
    for png in folder.glob("*.png"):
        png.rename(folder / "Images" / png.name)
    rows = [line.split("\t") for line in (folder / "captions.tsv").read_text().splitlines()]
    (folder / "captions.tsv").unlink()
    lines = ["image,caption", *(f'{name},"{caption}, it is"' for name, caption in rows)]
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_kaggles_flickr_layout_reads_as_it_is_downloaded(tmp_path):
    folder = kaggle_folder(tmp_path)
    text, found = images.read_folder(folder, 0.2)
    assert text.startswith("image,caption\n")
    references = [r for split in found.values() for r in split[1]]
    assert sorted(references) == sorted(
        [[f"a large {c} square , it is"] for c in ["red", "green", "blue"] * 2]
    )
    pixels = np.concatenate([split[0] for split in found.values()])
    red = pixels[[r == ["a large red square , it is"] for r in references]]
    assert len(red) == 2 and (red == scenes.COLOURS["red"]).all(axis=-1).any(axis=(1, 2)).all()
    (folder / "Images" / "2.png").unlink()
    with pytest.raises(images.DataError, match=r"2.png: no such image \(named in captions.txt\)"):
        images.read_folder(folder, 0.2)


def test_a_captions_csv_without_its_header_is_one_error(tmp_path):
    folder = kaggle_folder(tmp_path)
    lines = (folder / "captions.txt").read_text().splitlines()
    (folder / "captions.txt").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(images.DataError, match="line 1: expected a header naming the image"):
        images.read_captions(folder)


def test_an_exported_captioner_scores_a_captioned_folder(colour_run, tmp_path, capsys, monkeypatch):
    import sacrebleu

    _, run = colour_run
    folder = kaggle_folder(tmp_path, count=9)  # captions "a large red square, it is": never exact
    with open(folder / "captions.txt", "a", encoding="utf-8") as f:
        f.write("0.png,a large red square\n")  # a second reference, the one it can match
    model = runtime.load(run / "image_encoder.onnx")
    found = model.caption([str(folder / "Images" / f"{i}.png") for i in range(9)], beam=2)
    colours = ["red", "green", "blue"] * 3
    refs = [[f"a large {c} square , it is"] for c in colours]
    refs[0].append("a large red square")
    exact = sum(f in r for f, r in zip(found, refs)) / 9
    bleu = sacrebleu.corpus_bleu(
        found, [[r[0] for r in refs], [r[1] if len(r) > 1 else None for r in refs]]
    )
    assert infer.cli([str(run), "--evaluate", str(folder), "--beam", "2"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{folder}: 9 images, beam 2; exact match {exact:.4f}, BLEU-4 {bleu.score:.1f}"
    )
    from export import evaluate

    find_spec = importlib.util.find_spec  # an inference-only install: no sacrebleu
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "sacrebleu" else find_spec(n, *a)
    )
    assert evaluate.report(evaluate.evaluate(model, folder, beam=2), "f").splitlines() == [
        f"f: 9 images, beam 2; exact match {exact:.4f}",
        "BLEU needs sacrebleu: pip install sacrebleu==2.6.0",
    ]
    (folder / "Images" / "4.png").unlink()
    assert infer.cli([str(run), "--evaluate", str(folder)]) == 2
    assert (
        f"--evaluate {folder}: no such image 4.png (named in captions.txt)."
        in capsys.readouterr().err
    )


def test_a_captioner_validates_on_the_folder_given(tmp_path, capsys):
    folder, dev = colour_folder(tmp_path / "images", count=12), kaggle_folder(tmp_path, count=6)
    run = tmp_path / "run"
    argv = ["--task", "caption", "--data", str(folder), "--val-data", str(dev)]
    assert train.cli([*argv, "--run-dir", str(run), "--steps", "2", *tiny_flags(seq_len=None)]) == 0
    out = capsys.readouterr().out
    assert "12 training / 6 validation images;" in out and "(the --val-data folder)" in out
    assert "note:" not in out  # "a large red square , it is": 7 tokens, within --max-output
    short = ["--run-dir", str(tmp_path / "short"), "--steps", "1", "--max-output", "5"]
    assert train.cli([*argv, *short, *tiny_flags(seq_len=None)]) == 0
    note = "note: 6 of 18 targets are longer than --max-output 5 tokens (the longest 7)"
    assert note in capsys.readouterr().out  # the 6 validation captions, counted once
    assert json.loads((run / "data.json").read_text())["val_path"] == str(dev)
    (dev / "captions.txt").unlink()
    assert train.cli([*argv, "--run-dir", str(tmp_path / "r2"), "--steps", "2"]) == 2
    assert f"--val-data {dev / 'captions.tsv'}: no such file" in capsys.readouterr().err


def test_a_folder_given_as_image_is_read_image_by_image(colour_run, tmp_path, capsys):
    folder, run = colour_run
    model = runtime.load(run / "image_encoder.onnx")
    assert infer.cli([str(run / "image_encoder.onnx"), "--image", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    paths = sorted(folder.glob("*.png"))  # its 48 PNGs by name; captions.tsv is not an image
    assert [ln.split("  ")[0] for ln in lines] == [str(p) for p in paths]
    assert [ln.split("  ", 1)[1] for ln in lines] == model.caption(paths)
    (tmp_path / "empty").mkdir()
    assert infer.cli([str(run / "image_encoder.onnx"), "--image", str(tmp_path / "empty")]) == 2
    assert "a folder with no images" in capsys.readouterr().err
    kaggle = kaggle_folder(tmp_path)  # its images are in Images/: the error says so
    assert infer.cli([str(run / "image_encoder.onnx"), "--image", str(kaggle)]) == 2
    assert f"({kaggle / 'Images'} has images: pass it)" in capsys.readouterr().err


def test_a_jpegs_exif_orientation_is_applied_in_training_and_inference_alike(tmp_path):
    from PIL import Image

    from export.encoder_decoder import _image

    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:32] = (255, 0, 0)  # red above, blue below, as stored
    pixels[32:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 3  # "rotate 180 degrees to view": a phone held upside down
    path = tmp_path / "turned.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    for read in (images.read_image(path), _image(path, 64, 64)):
        top, bottom = read[:24].mean(axis=(0, 1)), read[40:].mean(axis=(0, 1))
        assert top[2] > 200 > 50 > top[0] and bottom[0] > 200 > 50 > bottom[2]  # blue on top


def test_a_16_bit_greyscale_png_reads_as_its_8_bit_self(tmp_path):
    """Pillow's convert("RGB") clips 16-bit values at 255: such a PNG read almost all white."""
    from PIL import Image

    from export.encoder_decoder import _image

    ramp = np.tile(np.linspace(0, 65535, 64), (64, 1)).astype(np.uint16)  # black to white
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    want = np.round(ramp / 257.0)[..., None].repeat(3, axis=-1)
    for read in (images.read_image(tmp_path / "deep.png"), _image(tmp_path / "deep.png", 64, 64)):
        assert np.abs(read.astype(float) - want).max() <= 1.0


def test_inspect_draws_attention_over_the_image_grid(colour_run, capsys):
    from rnn_keras.inspect import __main__ as inspect_cli

    _, run = colour_run
    assert inspect_cli.main([str(run)]) == 0
    assert (run / "inspect" / "attention.png").stat().st_size > 5000
    assert "square" in capsys.readouterr().out


def test_inspect_draws_the_attention_over_your_own_images(colour_run, tmp_path, capsys):
    import json

    from rnn_keras.inspect import __main__ as inspect_cli

    folder, run = colour_run
    images = [str(folder / "1.png"), str(folder / "2.png")]
    out = tmp_path / "figures"
    assert inspect_cli.cli([str(run), "--image", *images, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())["attention"]
    assert [(r["source"], r["output"]) for r in report] == [
        (images[0], "a large green square"),  # what export.infer says of the same files
        (images[1], "a large blue square"),
    ]
    assert (out / "attention.png").stat().st_size > 5000
    page = (out / "index.html").read_text(encoding="utf-8")
    assert f"<td>{images[0]}</td><td>a large green square</td><td></td>" in page
    capsys.readouterr()
    assert inspect_cli.cli([str(run), "--image", str(folder / "captions.tsv")]) == 2
    assert inspect_cli.cli([str(run), "--text", "a red square"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "not a readable PNG/JPEG" in err[0] and "--text" in err[1], err


def test_no_image_is_a_clear_error(colour_run):
    _, run = colour_run
    with pytest.raises(ValueError, match="Pass at least one image"):
        runtime.load(run / "image_encoder.onnx").caption([])


def test_dropout_reaches_the_captioners_decoder_and_leaves_inference_alone():
    import keras

    from rnn_keras.tasks.caption import captioner

    keras.utils.set_random_seed(0)
    model = captioner(7, units=8, size=16, dropout=0.5)
    plain = captioner(7, units=8, size=16)
    plain.set_weights(model.get_weights())
    assert model.get_layer("decoder").dropout == 0.5
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(0, 255, (2, 16, 16, 3)).astype(np.float32),
              rng.integers(1, 7, (2, 5)).astype(np.int32)]  # fmt: skip
    np.testing.assert_array_equal(model(inputs, training=False), plain(inputs, training=False))
    assert np.abs(np.asarray(model(inputs, training=True)) - plain(inputs, training=True)).max() > 0


def test_captions_written_without_spaces_are_refused_as_words(tmp_path, capsys):
    folder = colour_folder(tmp_path / "images", count=24)
    lines = "".join(f"{i}.png\t一个红色的大方块\n" for i in range(24))  # Chinese, unsegmented
    (folder / "captions.tsv").write_text(lines, encoding="utf-8")
    argv = ["--task", "caption", "--data", str(folder), "--run-dir", str(tmp_path / "run")]
    assert train.cli([*argv, "--steps", "2", *tiny_flags(seq_len=None)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'s captions: 100% of the letters are in a script written" in err[0]
    assert err[0].endswith("(e.g. with a Chinese word segmenter).")
    assert not (tmp_path / "run").exists()


def test_a_periodic_evaluation_decodes_an_even_spread_of_at_most_val_decoded(tmp_path, monkeypatch):
    from rnn_keras.tasks import make_task

    assert seq2seq.decoded_share(10, 3) == slice(None, None, 4)  # 0, 4, 8
    assert seq2seq.decoded_share(10, 10) == seq2seq.decoded_share(10, None) == slice(None)
    folder = colour_folder(tmp_path / "images")
    cfg = TrainConfig(task="caption", data=str(folder), steps=1, batch_size=8, val_fraction=0.25)
    task = make_task(cfg.resolved())
    val, seen = task.images["val"], []
    assert len(val) >= 8
    monkeypatch.setattr(seq2seq, "VAL_DECODED", -(-len(val) // 2))  # every second one
    monkeypatch.setattr(
        task, "decode", lambda model, images, beam: seen.append(images) or [""] * len(images)
    )
    task.decoded_metrics(model=None)
    np.testing.assert_array_equal(seen[0], val[::2])  # half of them, spread: not the first half
