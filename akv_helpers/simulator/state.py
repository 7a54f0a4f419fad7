"""World state of the simulator: lookups, persistence and the redacted view."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

from .files import write_private_json
from .seed import DEFAULT_CONFIG, seed_world

logger = logging.getLogger(__name__)

Json = dict[str, Any]


class World:
    """The simulated tenant, kept as JSON-shaped data and saved after each change.

    Parameters
    ----------
    path : Path
        The ``state.json`` file (mode 0600; it is the only file holding secret
        values).
    data : dict
        The state as loaded or seeded.
    """

    def __init__(self, path: Path, data: Json) -> None:
        self.path = path
        self.data = data
        self.data.setdefault("config", dict(DEFAULT_CONFIG))
        self.data.setdefault("scenarios", [])

    @classmethod
    def open(cls, path: Path, *, reset: bool = False) -> World:
        """Load the state file, or seed the demo tenant if absent or on reset."""
        if not reset and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                logger.error(
                    "state file %s is unreadable (%s); seeding again", path, error
                )
            else:
                if isinstance(data, dict) and data.get("schema") == 1:
                    path.chmod(0o600)
                    return cls(path, data)
                logger.error("state file %s has an unknown schema; seeding again", path)
        world = cls(path, seed_world())
        world.save()
        logger.info("seeded the demo tenant in %s", path)
        return world

    def save(self) -> None:
        """Write the state atomically with mode 0600."""
        write_private_json(self.path, self.data)

    def reseed(self) -> None:
        """Replace the world with a freshly seeded demo tenant and save it."""
        self.data = seed_world()
        self.save()

    # Tenant-wide facts.

    @property
    def tenant_id(self) -> str:
        """The directory (tenant) ID."""
        return str(self.data["tenant_id"])

    @property
    def subscription_id(self) -> str:
        """The one subscription's ID."""
        return str(self.data["subscription"]["id"])

    @property
    def config(self) -> Json:
        """Settings changed through the admin API (propagation delay, page size)."""
        config: Json = self.data["config"]
        return config

    @property
    def active_scenarios(self) -> list[str]:
        """Names of the scenarios applied since the last reset, in order."""
        names: list[str] = self.data["scenarios"]
        return names

    @property
    def role_assignments(self) -> list[Json]:
        """All role assignments, seeded and created through the API."""
        assignments: list[Json] = self.data["role_assignments"]
        return assignments

    def has_resource_group(self, name: str) -> bool:
        """Tell whether a resource group exists (names are case-insensitive)."""
        return any(
            group.lower() == name.lower() for group in self.data["resource_groups"]
        )

    def principal(self, principal_id: str) -> Json | None:
        """Return a directory object by object ID, or None."""
        for object_id, entry in self.data["principals"].items():
            if object_id.lower() == principal_id.lower():
                found: Json = dict(entry, id=object_id)
                return found
        return None

    # Resources.

    def identities(self, resource_group: str | None = None) -> list[Json]:
        """Return the user-assigned identities, optionally of one resource group."""
        found = self.data["identities"]
        if resource_group is not None:
            found = [
                i
                for i in found
                if i["resource_group"].lower() == resource_group.lower()
            ]
        return list(found)

    def identity(self, resource_group: str, name: str) -> Json | None:
        """Return one identity, or None."""
        for identity in self.identities(resource_group):
            if identity["name"].lower() == name.lower():
                return identity
        return None

    def vaults(self, resource_group: str | None = None) -> list[Json]:
        """Return the vaults, optionally of one resource group."""
        found = self.data["vaults"]
        if resource_group is not None:
            found = [
                v
                for v in found
                if v["resource_group"].lower() == resource_group.lower()
            ]
        return list(found)

    def vault(self, name: str, resource_group: str | None = None) -> Json | None:
        """Return one vault by name (vault names are unique), or None."""
        for vault in self.vaults(resource_group):
            if vault["name"].lower() == name.lower():
                return vault
        return None

    @staticmethod
    def secret(vault: Json, name: str) -> Json | None:
        """Return one secret of a vault by name, or None."""
        for secret in vault["secrets"]:
            if secret["name"].lower() == name.lower():
                found: Json = secret
                return found
        return None

    @staticmethod
    def latest_version(secret: Json) -> Json:
        """Return the newest version of a secret (the last one created)."""
        version: Json = max(secret["versions"], key=lambda v: v["created"])
        return version

    def redacted(self) -> Json:
        """Return a copy of the world with every secret value removed."""
        data = copy.deepcopy(self.data)
        for vault in data["vaults"]:
            for secret in vault["secrets"]:
                for version in secret["versions"]:
                    version.pop("value", None)
        return data
