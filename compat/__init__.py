"""Inngest-style functions on Temporal. Import the SDK as `from compat import inngest`."""

from compat import inngest

__all__ = ["inngest"]
