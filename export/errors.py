"""Errors of the inference path that more than one module raises (no heavy imports)."""


class DeviceError(RuntimeError):
    """The requested device or runtime cannot be used; no silent fallback to another."""
