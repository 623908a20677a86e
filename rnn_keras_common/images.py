"""One way to turn an image file into the pixels a captioner reads, for training,
inference (no TensorFlow) and inspection alike.

Pillow opens the file, turns it as its EXIF orientation says (a phone's JPEG is
stored sideways with a tag; browsers, and so the web page, turn it too), converts
it to RGB and resizes it bilinearly to the encoder's size.
"""

import pathlib

import numpy as np

IMAGE_ENDINGS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def image_files(paths):
    """`--image` values with each folder replaced by its image files, sorted by name, so
    that `--image photos/` reads a folder; `ValueError` for a folder that holds none."""
    out = []
    for path in map(pathlib.Path, paths):
        if not path.is_dir():
            out.append(path)
            continue
        found = _images_in(path)
        if not found:
            subfolders = [f"{d}" for d in sorted(path.iterdir()) if d.is_dir() and _images_in(d)]
            hint = f" ({subfolders[0]} has images: pass it)" if subfolders else ""
            raise ValueError(
                f"{path}: a folder with no images ({', '.join(IMAGE_ENDINGS)}){hint}; pass "
                "image files or a folder of them."
            )
        out += found
    return out


def _images_in(folder):
    return sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_ENDINGS)


SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # greyscale PNGs of 16 bits a pixel


def _eight_bit(image):
    """A 16-bit greyscale image as 8-bit (`L`): Pillow's `convert` clips its values at 255,
    so a 16-bit PNG read almost all white, where browsers (and so the page) scale it."""
    if image.mode not in SIXTEEN_BIT:
        return image
    from PIL import Image

    values = np.asarray(image, dtype=np.float64) / 257.0  # 65535 -> 255
    return Image.fromarray(np.clip(np.round(values), 0, 255).astype(np.uint8), "L")


def read_rgb(path, height, width):
    """`(height, width, 3)` uint8 RGB of an image file.

    Raises `FileNotFoundError`, or `ValueError` for a file that is not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = _eight_bit(ImageOps.exif_transpose(image))  # a no-op without a tag
            return np.asarray(image.convert("RGB").resize((width, height), Image.BILINEAR))
    except FileNotFoundError:  # an OSError too, but not a bad image: each caller names it
        raise
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path} is not a readable PNG/JPEG image ({err}).") from err
