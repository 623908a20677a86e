"""rnn_keras.figures: text in any script reaches the figure, and a missing glyph warns once."""

import warnings

import numpy as np
import pytest

from rnn_keras import figures
from rnn_keras.train.report import plot_confusion

NO_FONT = "\U0010fffd"  # private use, plane 16: no installed font has it


def _default_font():
    from matplotlib import font_manager

    return font_manager.findfont(font_manager.FontProperties())


def _only_in_stix():
    """A printable character matplotlib's bundled STIX font has and DejaVu Sans lacks."""
    from matplotlib import font_manager

    stix = font_manager.findfont(font_manager.FontProperties(family="STIXGeneral"))
    extra = sorted(figures._charmap(stix) - figures._charmap(_default_font()))
    return next(chr(c) for c in extra if chr(c).isprintable() and not chr(c).isspace())


def _render(text, fallback):
    """The pixels of `text` drawn alone, with or without `fonts_for`, and the warnings."""
    plt = figures.pyplot()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fallback:
            with figures.fonts_for([text], "test.png"):
                fig = plt.figure(figsize=(1, 1))
                fig.text(0.1, 0.3, text, fontsize=30)
                fig.canvas.draw()
        else:
            fig = plt.figure(figsize=(1, 1))
            fig.text(0.1, 0.3, text, fontsize=30)
            fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return pixels, [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_char_labels_show_line_ends_tabs_and_controls():
    assert figures.char_labels("a\n\tb\r ") == ["a", "⏎", "⇥", "b", "\ufffd", " "]


def test_a_glyph_the_default_font_lacks_is_drawn_from_an_installed_font(capsys):
    char = _only_in_stix()
    boxed, box_warnings = _render(char, fallback=False)
    assert box_warnings, "the default font was expected to lack this glyph"
    drawn, fallback_warnings = _render(char, fallback=True)
    assert fallback_warnings == []
    assert not np.array_equal(boxed, drawn), "the placeholder box was drawn, not the glyph"
    assert capsys.readouterr().err == ""  # every glyph found: nothing to say


def test_glyphs_no_font_has_are_one_note_not_a_warning_each(capsys):
    text = NO_FONT + chr(0x10FFFC) + chr(0x10FFFB)
    _, caught = _render(text, fallback=True)
    assert caught == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: test.png: no installed font has 3 characters")
    assert NO_FONT in err[0]


def test_the_confusion_matrix_of_labels_in_any_script(tmp_path, capsys):
    char = _only_in_stix()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_confusion(np.eye(3), ["sport", f"art{char}", f"x{NO_FONT}"], tmp_path / "c.png")
    assert [w for w in caught if "missing from font" in str(w.message)] == []
    assert (tmp_path / "c.png").stat().st_size > 0
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "has 1 character of its text" in err


@pytest.mark.parametrize("texts", [[], ["plain ASCII"], ["", "\n"]])
def test_text_the_default_font_has_needs_nothing(texts, capsys):
    with figures.fonts_for(texts, "p.png"):
        import matplotlib

        assert matplotlib.rcParams["font.family"] == ["sans-serif"]
    assert capsys.readouterr().err == ""


def test_fallbacks_register_a_font_once():
    from matplotlib import font_manager

    wanted = {ord(_only_in_stix()), ord(NO_FONT)}
    families, boxed = figures.fallbacks(wanted)
    assert families and boxed == {ord(NO_FONT)}
    known = len(font_manager.fontManager.ttflist)
    assert figures.fallbacks(wanted) == (families, boxed)
    assert len(font_manager.fontManager.ttflist) == known
