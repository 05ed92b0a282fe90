"""The service layer hands connections encoded messages; only the transport makes frames."""

from __future__ import annotations

import ast
from pathlib import Path

import hubbub

SERVICE = Path(hubbub.__file__).parent / "service"


def test_no_service_module_imports_the_frame_layer() -> None:
    offenders = []
    for source in sorted(SERVICE.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(name.startswith("hubbub.protocol.wsframe") for name in names):
                offenders.append(source.name)
    assert SERVICE.is_dir() and offenders == []
