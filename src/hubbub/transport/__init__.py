"""The only package that knows aiohttp: handshakes, frames, HTTP routes, static files."""
