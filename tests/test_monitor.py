"""Progress where no terminal is watching (CI logs, `| tee log`): plain lines, flushed."""

import numpy as np

from rnn_keras.train import monitor


def test_plain_periodic_lines_without_a_tty(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(monitor, "PLAIN_EVERY_S", 0.0)  # a line at every step for the test
    m = monitor.Monitor(tmp_path, total_steps=3, start_step=0, show_progress=True)
    assert m.plain  # pytest's captured stdout is not a terminal
    for step in (1, 2, 3):
        m.step(step, loss=2.5 - step / 10, chars_per_s=1000.0, lr=1e-3)
    m.message("eval line")
    m.close()
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert lines[:3] == [
        f"step {s}/3 | loss {2.5 - s / 10:.4f} | 1,000 tokens/s" for s in (1, 2, 3)
    ]
    assert lines[3] == "eval line"


def test_no_progress_means_no_lines(tmp_path, capsys):
    m = monitor.Monitor(tmp_path, total_steps=2, start_step=0, show_progress=False)
    m.step(1, 1.0, 10.0, 1e-3)
    m.close()
    assert capsys.readouterr().out == ""


def test_progress_lines_print_steps_whole_and_losses_to_four_digits():
    row = {"step": 16500, "train_loss": 0.148812, "val_wer": np.float32(0.30357)}
    assert monitor.fields(row) == "step 16500 | train_loss 0.1488 | val_wer 0.3036"
