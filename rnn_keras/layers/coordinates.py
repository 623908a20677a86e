"""Coordinates for a convolutional feature grid, so attention can say where things are."""

import keras


@keras.saving.register_keras_serializable(package="rnn_keras")
class AddCoordinates(keras.layers.Layer):
    """`(batch, H, W, C)` -> `(batch, H, W, C + 2)`: each cell's x and y in [-1, 1].

    Attention's context is a weighted sum of cells; without their coordinates it could
    not tell "left of" from "right of" (CoordConv, Liu et al. 2018).
    """

    def call(self, grid):
        shape = keras.ops.shape(grid)
        ys = keras.ops.linspace(-1.0, 1.0, shape[1])
        xs = keras.ops.linspace(-1.0, 1.0, shape[2])
        y, x = keras.ops.meshgrid(ys, xs, indexing="ij")  # (H, W)
        coords = keras.ops.stack([x, y], axis=-1)[None]  # (1, H, W, 2)
        coords = keras.ops.broadcast_to(coords, (shape[0], shape[1], shape[2], 2))
        return keras.ops.concatenate([grid, keras.ops.cast(coords, grid.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], input_shape[3] + 2)
