"""Which columns of a user's labelled file hold the text and the label (`--text-column`,
`--label-column`); the readers are `labelled`'s."""

import dataclasses

TEXT_NAMES = ("text", "sentence")  # a header's name for the text column


@dataclasses.dataclass(frozen=True)
class Columns:
    """Which header columns (or JSON keys) hold the text and the label, matched without
    regard to case; `named`: the user chose them (`--text-column`, `--label-column`)."""

    texts: tuple = TEXT_NAMES
    label: str = "label"
    named: bool = False

    @classmethod
    def of(cls, config):
        """The columns a run's config (a `TrainConfig` or its dict) reads."""
        get = config.get if isinstance(config, dict) else lambda k: getattr(config, k, None)
        text, label = get("text_column"), get("label_column")
        if text is None and label is None:
            return cls()
        label = (label or "label").strip().lower()
        texts = (text.strip().lower(),) if text else tuple(n for n in TEXT_NAMES if n != label)
        return cls(texts, label, True)

    def index(self, fields):
        """`(text, label)` indexes of a header's fields, or None when it names not both."""
        names = [str(f).strip().lower() for f in fields]
        text = next((names.index(n) for n in self.texts if n in names), None)
        return None if text is None or self.label not in names else (text, names.index(self.label))

    def wanted(self):
        """What an error asks for: "text (or sentence) and label"."""
        text = " (or ".join(self.texts) + ")" * (len(self.texts) - 1)
        return f"{text} and {self.label}"

    def fix(self):
        """How to name the columns, for an error."""
        if self.named:
            return "Pass the file's own names to --text-column and --label-column."
        return (
            "Name the columns text (or sentence) and label, or pass your names to "
            "--text-column and --label-column."
        )
