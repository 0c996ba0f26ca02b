"""Which IBM devices exist and what options their backends take.

The device backend families (:data:`FAMILIES`), the options every device backend takes
(:data:`PARAMS`, ``--set backend.KEY=VALUE``), the qiskit-ibm-runtime fake devices by name
(``fake_torino``, ``torino``, ``FakeTorino`` all name one), and the dry-run estimate of what a
hardware run would use (:func:`estimate_usage`). Nothing here connects to IBM Quantum.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from qbench.errors import ConfigError
from qbench.params import Param

if TYPE_CHECKING:
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

#: backend families: name prefix -> what follows the colon
FAMILIES = {"aer_noisy": "device", "ibm_local": "device", "ibm": "backend"}
#: the options every device backend takes (``--set backend.KEY=VALUE``, suites' backend_options)
PARAMS = (
    Param("optimization_level", int, 1, "preset pass manager level", (0, 1, 2, 3)),
    Param("layout", str, "default", "default, sabre, dense, trivial, or physical qubits '3,4,5'"),
    Param("seed_transpiler", int, 0, "seed of the transpiler's stochastic passes",
          bounds="[0, inf)"),
    Param("routing", str, "auto", "auto: swap strategy for standard QAOA; default; swap_strategy",
          ("auto", "default", "swap_strategy")),
    Param("dd", str, "none", "dynamical decoupling sequence (IBM Runtime)",
          ("none", "XX", "XpXm", "XY4")),
    Param("twirling", str, "none", "Pauli twirling by IBM Runtime",
          ("none", "gates", "measure", "all")),
    Param("mitigation", str, "none", "readout mitigation: trex (twirled readout extinction)",
          ("none", "trex")),
    Param("trex_randomizations", int, 16, "IBM Runtime measurement twirls per circuit (trex)",
          bounds="[1, inf)"),
    Param("mode", str, "auto", "job, batch or session; auto: a session for iterative loops",
          ("auto", "job", "batch", "session")),
    Param("channel", str, None, "ibm: ibm_quantum_platform or ibm_cloud (default: saved account)"),
    Param("instance", str, None, "ibm: instance CRN or name (default: saved account)"),
    Param("max_retries", int, 3, "retries of a job on transient service errors",
          bounds="[0, inf)"),
    Param("backoff_s", float, 2.0, "first retry delay in seconds (doubles each retry)",
          bounds="[0, inf)"),
    Param("job_timeout_s", float, 3600.0, "seconds to wait for one job's result",
          bounds="(0, inf)"),
    Param("method", str, "automatic", "aer_noisy: automatic, density_matrix or statevector",
          ("automatic", "density_matrix", "statevector")),
)  # fmt: skip
#: a rough per-job overhead (seconds) for the QPU-seconds estimate of a dry run
JOB_OVERHEAD_S = 2.0
#: seconds per shot in that estimate: the default repetition delay of IBM devices
REP_DELAY_S = 250e-6


def runtime_module() -> ModuleType:
    """The qiskit_ibm_runtime module, or a ConfigError saying how to install it."""
    try:
        import qiskit_ibm_runtime
    except ImportError:  # pragma: no cover - the test extra installs it
        raise ConfigError(
            "aer_noisy:, ibm_local: and ibm: backends need qiskit-ibm-runtime: "
            "pip install 'qbench[ibm]'"
        ) from None
    return qiskit_ibm_runtime


@lru_cache(maxsize=1)
def fake_device_classes() -> dict[str, type]:
    """fake_<name> -> fake backend class of qiskit_ibm_runtime.fake_provider (V2 devices)."""
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    out = {}
    for attr in dir(fake_provider):
        cls = getattr(fake_provider, attr)
        if isinstance(cls, type) and issubclass(cls, FakeBackendV2) and attr.startswith("Fake"):
            stem = re.sub(r"V2$", "", attr[4:])
            out["fake_" + re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()] = cls
    return out


def device_key(name: str) -> str:
    """The fake_provider key of a device name (``fake_torino``, ``torino``, ``FakeTorino``,
    ``FakeManilaV2`` all work); ConfigError listing the devices when there is none."""
    runtime_module()
    text = re.sub(r"V2$", "", name.strip())
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()
    key = text if text.startswith("fake_") else "fake_" + text.removeprefix("fake")
    classes = fake_device_classes()
    if key not in classes:
        raise ConfigError(f"unknown fake device {name!r}; allowed: {', '.join(sorted(classes))}")
    return key


@lru_cache(maxsize=16)
def fake_device(name: str) -> FakeBackendV2:
    """The fake device called ``name`` (see :func:`device_key`), one object per process."""
    return fake_device_classes()[device_key(name)]()


def parse_layout(text: str) -> list[int] | str | None:
    """The ``layout`` option as transpile_isa takes it."""
    if text == "default":
        return None
    if text in ("sabre", "dense", "trivial"):
        return text
    try:
        return [int(q) for q in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"layout {text!r}: expected default, sabre, dense, trivial or physical qubits '3,4,5'"
        ) from None


def estimate_usage(n_circuits: int, shots: int, jobs: int) -> dict[str, Any]:
    """Dry-run estimate of a hardware run: circuits, shots and QPU seconds.

    QPU seconds ≈ jobs × JOB_OVERHEAD_S + circuits × shots × REP_DELAY_S: IBM bills the time
    the QPU is locked, which per-job overhead and the shots' repetition delay dominate for
    circuits of a few microseconds. A rough guide, not a quote.
    """
    total_shots = int(n_circuits) * int(shots)
    return {
        "circuits": int(n_circuits),
        "shots": total_shots,
        "est_qpu_s": round(jobs * JOB_OVERHEAD_S + total_shots * REP_DELAY_S, 1),
    }
