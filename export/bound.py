"""A fixed-shape fast path for onnxruntime: IOBinding, and CUDA graphs on a GPU (no TensorFlow).

Inputs and outputs live in buffers bound to the session once; each call copies the new
input values into them and runs. On CUDA with `cuda_graph=True` the session only ever runs
on those buffers: its first run (here, at construction) is captured as a CUDA graph and
later runs replay it (measured elsewhere: about 3x lower latency for the one-token step
model). Shapes are fixed by the example feeds.

Outputs that are the next call's inputs (the LM's states) can be `carry`-ed: they stay in
the runner's buffers, on the GPU under CUDA, and never pass through NumPy. Two sets of
their buffers take turns (this call's outputs are the next call's inputs), each with its
own binding and, under CUDA, its own graph (`gpu_graph_id`).
"""

import numpy as np
import onnxruntime as ort

from .session import make_session


class BoundRunner:
    """`run(feeds) -> {name: array}` for feeds shaped exactly like `example_feeds`.

    `carry` maps outputs to the inputs they become (`{"state_0_out": "state_0"}`): those
    inputs start at their `example_feeds` values, then take what the last call gave; `run`
    needs and returns neither, and `carried()` reads them.
    """

    def __init__(self, path, example_feeds, device="cpu", cuda_graph=False, carry=None):
        if cuda_graph and device != "cuda":
            raise ValueError("CUDA graphs need device='cuda'; use cuda_graph=False on the CPU.")
        options = {"enable_cuda_graph": "1"} if cuda_graph else None
        self.session = make_session(path, device, options)
        # With a graph the output shapes come from a second session: onnxruntime captures
        # the CUDA graph in its first runs, whatever they are given, and a plain `run` has
        # temporary buffers that later replays would read after they were freed.
        plain = make_session(path, device) if cuda_graph else self.session
        names = [o.name for o in self.session.get_outputs()]
        first = dict(zip(names, plain.run(None, example_feeds)))
        self.place = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"
        self.carry = _checked(carry or {}, first, example_feeds)
        self.shapes = {name: np.shape(v) for name, v in example_feeds.items()}
        self.inputs = {n: self._buffer(v) for n, v in example_feeds.items()}
        self.outputs = {n: self._buffer(v) for n, v in first.items() if n not in self.carry}
        # turn k reads carried inputs from side k and writes them to the other side
        sides = [{i: self.inputs[i] for i in self.carry.values()}]
        sides.append({i: self._buffer(first[o]) for o, i in self.carry.items()})
        self.turns = [self._turn(sides, k, cuda_graph) for k in range(1 + bool(self.carry))]
        for binding, run_options in self.turns:  # warm: on CUDA, each graph's capture
            self.session.run_with_iobinding(binding, run_options)
        self.sides, self.turn = sides, 0
        for name in self.carry.values():  # the warm runs wrote over the starting values
            sides[0][name].update_inplace(np.ascontiguousarray(example_feeds[name]))

    def _buffer(self, value):
        # a copy: on the CPU the OrtValue would wrap (and the runs write into) the caller's array
        return ort.OrtValue.ortvalue_from_numpy(np.array(value, order="C"), self.place, 0)

    def _turn(self, sides, k, cuda_graph):
        """`(binding, run options)` of the call that reads side k's carried inputs."""
        binding = self.session.io_binding()
        for name, value in {**self.inputs, **sides[k]}.items():
            binding.bind_ortvalue_input(name, value)
        outputs = {**self.outputs, **{o: sides[1 - k][i] for o, i in self.carry.items()}}
        for name, value in outputs.items():
            binding.bind_ortvalue_output(name, value)
        if not (cuda_graph and self.carry):
            # None, not empty options: onnxruntime 1.31 looks for a graph id in them by
            # catching a C++ exception, 20 us a call on the 2-core CPU
            return binding, None
        run_options = ort.RunOptions()  # one graph per binding; id 0 is onnxruntime's own
        run_options.add_run_config_entry("gpu_graph_id", str(k + 1))
        return binding, run_options

    def run(self, feeds):
        carried = self.sides[self.turn]
        for name, value in feeds.items():
            if np.shape(value) != self.shapes[name]:
                raise ValueError(
                    f"This runner is fixed to {name} of shape {self.shapes[name]}, "
                    f"got {np.shape(value)}; make another for that shape."
                )
            carried.get(name, self.inputs[name]).update_inplace(np.ascontiguousarray(value))
        self.session.run_with_iobinding(*self.turns[self.turn])
        self.turn = (self.turn + 1) % len(self.turns)
        return {name: value.numpy() for name, value in self.outputs.items()}

    def carried(self):
        """`{input: array}`: the carried inputs the next call will read."""
        return {name: value.numpy() for name, value in self.sides[self.turn].items()}


def _checked(carry, outputs, inputs):
    if unknown := {o: i for o, i in carry.items() if o not in outputs or i not in inputs}:
        raise ValueError(
            f"carry {unknown}: each must map one of the outputs {list(outputs)} to one of "
            f"the inputs {list(inputs)}."
        )
    return dict(carry)
