"""The Redis tests here skip when there is no Redis, and say why at the end of the run."""

from redis_support import pytest_terminal_summary

__all__ = ["pytest_terminal_summary"]
