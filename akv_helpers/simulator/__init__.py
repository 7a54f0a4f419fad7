"""The kit's built-in Azure simulator.

A local HTTPS server on 127.0.0.1 that answers the Azure Resource Manager calls the kit
makes (managed identities, Key Vault management, role assignments and definitions) and
the Key Vault secrets data plane, with Azure's JSON and error bodies, so the real Azure
SDK clients run against it unchanged. Start it with ``python -m akv_helpers.simulator``.
"""

from __future__ import annotations

VERSION = "0.1.0"

__all__ = ["VERSION"]
