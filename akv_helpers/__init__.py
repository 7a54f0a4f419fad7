"""Onboarding kit for Flyte tasks on Union's Azure data plane that read Azure Key Vault secrets."""

__version__ = "0.1.0"
