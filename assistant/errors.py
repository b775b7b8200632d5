"""Dalil's error tree. Every message says what went wrong and how to fix it."""


class DalilError(Exception):
    """Base class of every error Dalil raises on purpose."""


class ConfigError(DalilError):
    """A setting is missing or inconsistent."""


class IngestError(DalilError):
    """A document could not be ingested; the rest of the batch is unaffected."""


class IndexMismatchError(DalilError):
    """The index was built with another embedding model or dimension."""


class IndexLockedError(DalilError):
    """Another process holds the embedded index."""


class QueryError(DalilError):
    """A query cannot be run as given (bad date, unknown collection, empty text...)."""


class LLMError(DalilError):
    """The language model failed, timed out or returned nothing usable."""


class DatasetError(DalilError):
    """An evaluation dataset line is malformed."""


class EgressError(ConfigError):
    """A remote endpoint's host is neither loopback nor in DALIL_ALLOWED_HOSTS (assistant/egress.py)."""


class InputError(DalilError):
    """A file or a line given to a command cannot be read (missing, binary, not UTF-8, not JSON)."""


class StoreDamagedError(ConfigError):
    """A data file (SQLite store, index, cache) fails its integrity check when opened; the message
    names the file and how to recover it."""
