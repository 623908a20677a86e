"""Generated scenes with exact captions, for captioning (nothing to download or ship).

A scene is a 64x64 RGB image of one to three objects, each a shape, a colour and a
size, drawn with Pillow on a noisy light background with jittered positions, sizes
and colours, so no two images are alike. Captions:

- one object: "a large red circle";
- two objects: "a small red circle left of a large blue square"; either object may
  come first (with the inverse relation), so such a scene has two references;
- three objects: the three, left to right, joined by "and".

Everything follows from the seed: `scene(seed)` is the same on every machine.
Held-out compositions: `HELD_OUT` colour+shape pairs never appear in the ordinary
splits; the `compositions` split is made only of scenes that hold one of them.
"""

import functools

import numpy as np

SIZE = 64
SHAPES = ("circle", "square", "triangle", "diamond")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 210, 40),
    "purple": (150, 60, 190),
    "orange": (240, 140, 30),
}
SIZES = {"small": 6.0, "large": 11.0}  # radius in pixels, before jitter
INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
HELD_OUT = (("green", "triangle"), ("blue", "circle"))
SPLITS = {"train": 0, "val": 1, "test": 2, "compositions": 3}  # the seed streams


def _object(rng, allowed):
    while True:
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
        if allowed((colour, shape)):
            return {"size": rng.choice(list(SIZES)), "colour": colour, "shape": shape}


def _place(rng, objects):
    """Centres that make each relation unambiguous: separate halves or thirds."""
    n = len(objects)
    if n == 1:
        return [rng.uniform(18, 46, 2)]
    if n == 3:
        xs = [10 + 22 * i + rng.uniform(-1, 1) for i in range(3)]
        return [np.array([x, rng.uniform(14, 50)]) for x in xs]
    axis = rng.integers(2)  # 0: side by side, 1: one above the other
    centres = []
    for half in (0, 1):
        c = rng.uniform(16, 48, 2)
        c[axis] = rng.uniform(14, 22) + 28 * half
        centres.append(c)
    return centres


def _draw(rng, objects, centres):
    from PIL import Image, ImageDraw

    base = rng.integers(215, 245)
    pixels = np.clip(base + rng.normal(0, 6, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for obj, (x, y) in zip(objects, centres):
        r = SIZES[obj["size"]] * rng.uniform(0.9, 1.1)
        fill = tuple(
            int(np.clip(c + rng.integers(-20, 21), 0, 255)) for c in COLOURS[obj["colour"]]
        )
        points = {
            "circle": None,
            "square": [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)],
            "triangle": [(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)],
            "diamond": [(x, y - r * 1.15), (x + r, y), (x, y + r * 1.15), (x - r, y)],
        }[obj["shape"]]
        if points is None:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
        else:
            draw.polygon(points, fill=fill)
    return np.asarray(image)


def phrase(obj):
    return f"a {obj['size']} {obj['colour']} {obj['shape']}"


def relation(a, b):
    """Where `a` is relative to `b`, from their centres (placed on one axis apart)."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


def captions(objects, centres):
    """Every correct caption of the scene (see the module docstring)."""
    if len(objects) == 1:
        return [phrase(objects[0])]
    if len(objects) == 2:
        rel = relation(*centres)
        return [
            f"{phrase(objects[0])} {rel} {phrase(objects[1])}",
            f"{phrase(objects[1])} {INVERSE[rel]} {phrase(objects[0])}",
        ]
    order = np.argsort([c[0] for c in centres])
    return [" and ".join(phrase(objects[i]) for i in order)]


def scene(seed, split="train"):
    """`(image uint8 (64, 64, 3), objects, captions)` for scene number `seed` of `split`."""
    rng = np.random.default_rng([SPLITS[split], seed])
    held = lambda pair: pair in HELD_OUT  # noqa: E731
    n = int(rng.integers(1, 4))
    if split == "compositions":
        objects = [_object(rng, held)] + [_object(rng, lambda p: True) for _ in range(n - 1)]
        rng.shuffle(objects)
    else:
        objects = [_object(rng, lambda p: not held(p)) for _ in range(n)]
    centres = _place(rng, objects)
    return _draw(rng, objects, centres), objects, captions(objects, centres)


@functools.lru_cache(maxsize=8)
def scenes(split, count, start=0):
    """`(images (count, 64, 64, 3) uint8, (captions, ...))` of scenes `start..start+count`.

    Made once per process and kept (read-only): the bundled splits' 22,000 scenes take
    ~13 s of Pillow drawing, which a second captioning run in the same process (a notebook,
    the test suite) need not repeat; the images are 270 MB, as the run holds them anyway.
    """
    made = [scene(start + i, split) for i in range(count)]
    images = np.stack([m[0] for m in made])
    images.flags.writeable = False  # shared by every caller
    return images, tuple(m[2] for m in made)
