"""The export and inference CLIs end on a user's mistake with one `error:` line, exit 2."""

import sys

from export.metadata import MetadataError
from rnn_keras_common.vocab import VocabularyError


def run_cli(main):
    from export.session import DeviceError

    kinds = [MetadataError, VocabularyError, DeviceError, FileNotFoundError, ValueError]
    try:
        from export.parity import ParityError

        kinds.append(ParityError)
    except ImportError:
        pass
    try:
        return main()
    except KeyboardInterrupt:
        print("\nerror: interrupted; no half-written .onnx file is left.", file=sys.stderr)
        return 130
    except tuple(kinds) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
