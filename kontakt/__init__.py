"""Kontakt: composition root, configuration, CLI and i18n of the service."""

__version__ = "0.1.0"
