"""One way to turn an image file into the pixels a captioner reads, for training,
inference (no TensorFlow) and inspection alike.

Pillow opens the file, turns it as its EXIF orientation says (a phone's JPEG is
stored sideways with a tag; browsers, and so the web page, turn it too), converts
it to RGB and resizes it bilinearly to the encoder's size.
"""

import numpy as np


def read_rgb(path, height, width):
    """`(height, width, 3)` uint8 RGB of an image file.

    Raises `FileNotFoundError`, or `ValueError` for a file that is not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)  # a no-op without an orientation tag
            return np.asarray(image.convert("RGB").resize((width, height), Image.BILINEAR))
    except FileNotFoundError:  # an OSError too, but not a bad image: each caller names it
        raise
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path} is not a readable PNG/JPEG image ({err}).") from err
