"""Accounts' secrets: password hashes, session tokens and throttles."""
