"""Durable storage: accounts, rooms, memberships and each room's event log."""
