"""post3: an S3-compatible object store whose storage backends are plugins."""

import pluggy

__version__ = "0.1.0.dev0"

#: Marker for hook implementations: ``@post3.hookimpl def post3_register_backends(registry): ...``
hookimpl = pluggy.HookimplMarker("post3")

__all__ = ["__version__", "hookimpl"]
