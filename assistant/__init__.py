"""Dalil: sovereign retrieval-augmented assistant for public administration."""

from assistant.offline import enforce_offline_env

enforce_offline_env()

__version__ = "0.1.0"
