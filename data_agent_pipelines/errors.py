"""One error type per failure class; every message is written for the person who has to fix the input."""

from __future__ import annotations


class DataAgentError(Exception):
    """Base of the project's own errors."""


class InvalidInput(DataAgentError):
    """A value given by a user (CLI argument, API body, source setting) is not acceptable."""


class NotFound(DataAgentError):
    """An id or name that does not exist (in the caller's service)."""


class Conflict(DataAgentError):
    """The request collides with existing state (a duplicate name, a busy source)."""


class CredentialsError(DataAgentError):
    """Stored credentials cannot be decrypted with the configured key."""


class DocumentError(DataAgentError):
    """A fetched document cannot be imported at all (unsafe, not a feed, unreadable)."""


class SourceAuthError(DataAgentError):
    """A platform rejected a source's credentials or its access to the content (401/403 or its own equivalent)."""


class PlatformError(DataAgentError):
    """A platform's API answered something that cannot be imported (an API error, an unexpected shape)."""


class CatalogFull(DataAgentError):
    """The catalog's database has no room left to write (its disk, or its quota, is full)."""
