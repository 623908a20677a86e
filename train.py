"""Train the classic RNN by BPTT: `python train.py --help` lists every flag.

    python train.py                                  # char LM on the bundled plays, ~5 min
    python train.py --task tag --minutes 2           # word segmentation, deep bidirectional
    python train.py --resume runs/mine               # continue after a stop or a kill

The command line lives in `rnn_keras_common.train_cli` (also installed as `rnn-keras-train`).
"""

import sys

from rnn_keras_common.train_cli import cli

if __name__ == "__main__":
    sys.exit(cli())
