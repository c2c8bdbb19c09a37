"""Inngest-style functions on Temporal. Import the SDK as `from compat import inngest`."""

from compat import inngest
from compat._internal.temporal_options import temporal_options

__all__ = ["inngest", "temporal_options"]
