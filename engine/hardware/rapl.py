"""CPU package energy from Linux powercap (RAPL): joules used since the counter was opened.

Intel CPUs (and AMD Zen, through the same driver) expose one cumulative counter per CPU package
as ``/sys/class/powercap/intel-rapl:N/energy_uj``, in microjoules, wrapping to zero at
``max_energy_range_uj`` (about 262 kJ: some 40 minutes at 100 W). Reading it at every telemetry
tick (1–2 Hz) catches every wrap. Since Linux 5.10 the counter is readable by root only
(CVE-2020-8694), so "N/A" with that reason is the usual answer for a desktop user; the reason
says what to change.

Sub-zones (``intel-rapl:0:0`` core, ``:0:1`` uncore, DRAM) are parts of a package's energy or
outside it; only the package zones are summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")
SOURCE = "RAPL package energy counter (Linux powercap)"


@dataclass
class _Zone:
    name: str
    energy: Path
    wrap_uj: int  # the counter's range: it goes back to 0 on reaching this
    last_uj: int


class RaplCounter:
    """Cumulative CPU package energy in joules since construction; ``reason`` says why not.

    ``read()`` returns None when the counter is unavailable (``reason`` is then set, once and
    for all: a counter that was unreadable is not retried every tick).
    """

    def __init__(self, root: Path | str = POWERCAP) -> None:
        self.reason: str | None = None
        self._zones: list[_Zone] = []
        self._joules = 0.0
        try:
            self._zones = _package_zones(Path(root))
        except _Unavailable as exc:
            self.reason = str(exc)

    @property
    def available(self) -> bool:
        return self.reason is None

    def read(self) -> float | None:
        """Joules all CPU packages used since the counter was opened (wraps accounted)."""
        if self.reason is not None:
            return None
        try:
            for zone in self._zones:
                now = _read_int(zone.energy)
                delta = now - zone.last_uj
                if delta < 0:  # wrapped past max_energy_range_uj since the last read
                    delta += zone.wrap_uj
                self._joules += delta / 1e6
                zone.last_uj = now
        except _Unavailable as exc:
            self.reason = str(exc)
            return None
        return self._joules


class _Unavailable(Exception):
    pass


def _package_zones(root: Path) -> list[_Zone]:
    if not root.is_dir():
        raise _Unavailable(
            f"no powercap interface ({root} is missing: not Linux, or no RAPL driver loaded)"
        )
    zones = []
    for folder in sorted(root.glob("*rapl:*")):
        if folder.name.count(":") != 1:  # intel-rapl:0:0 is a part of package 0
            continue
        try:
            name = (folder / "name").read_text(encoding="ascii").strip()
        except OSError:
            continue
        if not name.startswith("package"):
            continue
        energy = folder / "energy_uj"
        wrap = _read_int(folder / "max_energy_range_uj")
        zones.append(_Zone(name, energy, wrap, _read_int(energy)))
    if not zones:
        raise _Unavailable(f"no CPU package energy counter under {root} (no RAPL on this CPU)")
    return zones


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except PermissionError:
        raise _Unavailable(
            f"{path} is readable by root only (Linux 5.10 and later restrict it); "
            "make it readable to your user (for example with a udev rule) to see CPU energy"
        ) from None
    except (OSError, ValueError) as exc:
        raise _Unavailable(f"cannot read {path}: {exc}") from None
