"""Figures drawn to files, with fonts for whatever script a reader's text is in.

matplotlib's default font (DejaVu Sans) has Latin, Greek and Cyrillic but no Chinese,
Japanese, Korean, Thai or Devanagari. For each glyph it lacks, matplotlib draws a
placeholder box and warns once per glyph: a character LM on Chinese text filled the
terminal with dozens of warnings, and `units.png` with boxes. `fonts_for` adds the
installed fonts that have those glyphs as fallbacks (matplotlib falls back glyph by
glyph), and says once what no installed font has.
"""

import contextlib
import functools
import sys
import unicodedata
import warnings

# matplotlib's placeholder font covers every code point with a box: no real glyph
PLACEHOLDER = "LastResort"


def pyplot():
    """`matplotlib.pyplot`, drawing to files (Agg): no display needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# how a figure's axis shows a character that draws nothing (DejaVu Sans has these glyphs)
INVISIBLE = {"\n": "⏎", "\t": "⇥"}


def char_labels(text):
    """One axis label per character: line ends and tabs as arrows, other controls as �."""
    return [INVISIBLE.get(c, c if c.isprintable() else "\ufffd") for c in text]


@functools.cache
def _charmap(path):
    """The code points a font file has glyphs for (empty if FreeType cannot read it)."""
    from matplotlib import ft2font

    try:
        return frozenset(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


@functools.cache
def _font_paths():
    """matplotlib's known fonts, then the system's (a font installed since its cache was
    made); listed once a process, as each figure of a passage would list them again."""
    from matplotlib import font_manager

    known = [f.fname for f in font_manager.fontManager.ttflist]
    paths = dict.fromkeys([*known, *font_manager.findSystemFonts()])
    return [p for p in paths if PLACEHOLDER not in p]


def fallbacks(missing):
    """`(families, boxed)`: fonts that have the code points `missing`, greedily, and the rest."""
    from matplotlib import font_manager

    families, left = [], set(missing)
    coverage = {p: _charmap(p) & left for p in _font_paths()}
    while left and coverage:
        path = max(coverage, key=lambda p: (len(coverage[p] & left), p))
        if not coverage.pop(path) & left:
            break
        if path not in {f.fname for f in font_manager.fontManager.ttflist}:
            font_manager.fontManager.addfont(path)  # installed since matplotlib's cache
        name = font_manager.FontProperties(fname=path).get_name()
        if name not in families:
            families.append(name)
        left -= _charmap(path)
    return families, left


def _drawn(c):
    """A character that needs a glyph: not a space, control or format character."""
    return not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")


@contextlib.contextmanager
def fonts_for(texts, path):
    """Draw `texts` (labels, characters, captions) with fonts that have their glyphs.

    Inside the block, text falls back from the default font to installed fonts that
    have the glyphs it lacks; glyphs that no font has are drawn as boxes and named
    once on standard error, for the figure at `path`, not once per glyph.
    """
    import matplotlib
    from matplotlib import font_manager

    chars = {ord(c) for t in texts for c in str(t) if _drawn(c)}
    default = font_manager.findfont(font_manager.FontProperties())
    families, boxed = fallbacks(chars - _charmap(default)) if chars else ([], set())
    family = [*matplotlib.rcParams["font.family"], *families]
    with matplotlib.rc_context({"font.family": family}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        yield
    if boxed:
        shown = "".join(chr(c) for c in sorted(boxed)[:8])
        count = f"{len(boxed)} character" + ("s" if len(boxed) != 1 else "")
        print(
            f"note: {path}: no installed font has {count} of its text (e.g. {shown}), drawn as "
            "boxes; install a font that does (Debian: fonts-noto-cjk for Chinese, Japanese and "
            "Korean) for the next figures.",
            file=sys.stderr,
        )
