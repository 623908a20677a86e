"""The tasks, one module each, behind the interface the training loop uses.

`TASKS` maps a task name to its module; each module's `Task` knows its data
format, builds its model and computes its metrics (see `tasks.base`).
"""

import importlib

from rnn_keras import data

MODULES = {
    "lm": "lm",
    "tag": "tag",
    "classify": "classify",
    "translate": "translate",
    "caption": "caption",
}


def task_module(name):
    """The module of the task called `name`."""
    return importlib.import_module(f"rnn_keras.tasks.{MODULES[name]}")


def make_task(cfg, text=None):
    """The task named by `cfg.task`, its data read from `cfg.text` (or the bundled plays)."""
    module = task_module(cfg.task)
    if cfg.task in ("classify", "translate", "caption") or cfg.data:
        return module.Task(cfg)  # labelled data: the task reads its own file
    text = data.read_text(cfg.text) if text is None else text
    return module.Task(cfg, text)
