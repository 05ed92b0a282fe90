"""The pure domain shared by every layer: rooms, events, names and the resume merge."""
