"""House rules: the engine loads no Qt, and the headless CLI never imports the GUI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "gui")
ROOT = Path(__file__).resolve().parent.parent


def _imported_after(code: str) -> list[str]:
    """Top-level module names loaded by a fresh interpreter after running ``code``."""
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in FORBIDDEN]


def _engine_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        names.append(".".join(parts))
    return names


def test_importing_engine_loads_no_qt():
    assert _forbidden(_imported_after("import engine")) == []


def test_every_engine_module_imports_without_qt():
    imports = "\n".join(f"import {name}" for name in _engine_modules())
    loaded = _imported_after(imports)
    assert _forbidden(loaded) == []


def test_engine_import_is_light():
    """Plain `import engine` must not pull the data stack in (start-up time, GPU image)."""
    loaded = _imported_after("import engine")
    assert {"pandas", "pyarrow", "safetensors", "torch"}.isdisjoint(m.split(".")[0] for m in loaded)


def test_engine_source_names_no_gui_package():
    offenders = []
    for path in (ROOT / "engine").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.strip().split()
            is_import = len(words) >= 2 and words[0] in ("import", "from")
            if is_import and words[1].split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.name}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("argv", [["info"], ["--help"], ["train", "--help"]])
def test_headless_commands_do_not_import_qt(argv):
    code = f"from gui.launcher import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    assert _forbidden([m for m in _imported_after(code) if m.split(".")[0] != "gui"]) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["info"],
        ["train", "--help"],
        ["predict", "--help"],
        ["export-onnx", "--help"],
        ["runs", "--help"],
        ["advise", "--help"],
    ],
)
def test_cli_help_and_info_do_not_load_the_data_stack(argv):
    """The CLI imports a subcommand's module only when it runs: help and ``info`` answer
    without pandas or pyarrow (a second or more of start-up on a cold disk)."""
    code = f"from engine.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    loaded = {m.split(".")[0] for m in _imported_after(code)}
    assert {"pandas", "pyarrow"}.isdisjoint(loaded)


# which rooms of engine/ each room may import: downward only (design guide §1)
FOUNDATION = {"backend", "errors", "encoded_rows", "processes", "series", "__init__"}
ALLOWED = {
    "nn": {"nn", "accel"},  # accel only through nn/step.py's make_train_function
    "accel": {"accel", "nn"},
    "data": {"data"},
    "io": {"io", "data", "nn"},
    "run": {"run", "data", "nn", "io"},
    "hardware": {"hardware", "io"},  # recordings are written through io.atomic
    "bench": {"bench", "nn"},
    "runs": {"runs", "run", "data", "io", "nn", "hardware"},
    "search": {"search", "run", "runs", "data", "io", "nn"},
    # the advisor times run's model and trainer and reads NVML's utilisation through hardware:
    # a room of its own beside runs and search, since run may not reach hardware
    "advisor": {"advisor", "run", "nn", "hardware"},
    "cli": {"cli", "run", "runs", "search", "data", "io", "nn", "hardware", "bench", "advisor"},
}


def _engine_imports(path: Path) -> set[str]:
    """The rooms of engine/ that a module imports (``engine.X...`` -> X)."""
    import ast

    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "engine" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


def test_the_rooms_depend_downward_only():
    offenders = []
    for room, allowed in ALLOWED.items():
        for path in sorted((ROOT / "engine" / room).glob("*.py")):
            extra = _engine_imports(path) - allowed - FOUNDATION
            if room == "nn" and path.name != "step.py":
                extra |= _engine_imports(path) & {"accel"}
            if extra:
                offenders.append(f"engine/{room}/{path.name} imports {sorted(extra)}")
    assert offenders == []


def test_the_foundation_imports_no_room():
    for name in ("backend", "errors", "encoded_rows", "processes", "series"):
        assert _engine_imports(ROOT / "engine" / f"{name}.py") <= FOUNDATION, name
