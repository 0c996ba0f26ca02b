"""The GPU engine (hardware/exact/gpu.py): what runs without a device here, and
tests/gpu_cases.py in a subprocess under numba's CUDA simulator (or on a real GPU)."""

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from qbench.errors import ConfigError
from qbench.hardware import get_backend, validate_backend
from qbench.hardware.base import QAOAAnsatz
from qbench.hardware.exact import engine, gpu, gpu_ansatz
from qbench.program import BinaryProgram

ROOT = Path(__file__).resolve().parent.parent
GPU_PY = ROOT / "hardware" / "exact" / "gpu.py"
CASES = ROOT / "tests" / "gpu_cases.py"


def run_cases(env: dict, timeout: int) -> subprocess.CompletedProcess:
    """tests/gpu_cases.py in a fresh process (numba.cuda reads NUMBA_ENABLE_CUDASIM on import)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)]
    return subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


def test_gpu_py_loads_by_path_without_qbench_qiskit_or_numba_cuda():
    script = f"""
import importlib.abc, importlib.util, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("qbench", "qiskit"):
            raise ImportError(name)
sys.meta_path.insert(0, Block())
spec = importlib.util.spec_from_file_location("gpu_alone", {str(GPU_PY)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(mod.ResourceError.__module__, mod.device_bytes(32), "numba.cuda" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    module, nbytes, cuda_loaded = out.stdout.split()
    assert module == "gpu_alone" and cuda_loaded == "False"
    assert int(nbytes) == 12 * 2**32 + 8 * 2**20 + gpu.DEVICE_MARGIN


def test_device_bytes():
    assert gpu.device_bytes(32, "complex64") - gpu.DEVICE_MARGIN == 48 * 2**30 + 8 * 2**20
    assert gpu.device_bytes(30, "complex128", cost=False) == 16 * 2**30 + 8 * 2**19 + (64 << 20)
    with pytest.raises(ValueError, match="complex128 or complex64"):
        gpu.device_bytes(10, "float32")


@pytest.mark.parametrize(("n", "dtype"), [(32, "complex64"), (33, "complex64"), (30, "complex128")])
def test_x_mixer_layer_takes_the_documented_passes(n, dtype):
    L = gpu.BLOCK_BITS[dtype]
    layer = tuple((gpu.ONE_Q, q, q) for q in range(n))
    bits, nloc, ops, meta = gpu._schedule(n, (layer, layer), L)
    per_layer = 1 + math.ceil((n - L) / (L - gpu.CHUNK_BITS))
    assert len(meta) == 2 * per_layer and [m[3] for m in meta].count(True) == 2
    assert all(k == L for k in nloc)
    for (g0, g1, _, _), row, k in zip(meta, bits, nloc, strict=True):
        local = list(row[:k])
        assert local == sorted(local) and local[: gpu.CHUNK_BITS] == list(range(gpu.CHUNK_BITS))
        assert sorted(row) == list(range(n))
        assert all(row[ops[g, 1]] == layer[g % n][1] for g in range(g0, g1))


def test_schedule_keeps_gate_order_and_puts_each_gate_in_one_pass():
    rng = np.random.default_rng(0)
    n, L = 12, 7
    gates = []
    for _ in range(60):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        kind = int(rng.choice(gpu.KINDS))
        gates.append((kind, a, a) if kind == gpu.ONE_Q else (kind, a, b))
    bits, nloc, ops, meta = gpu._schedule(n, (tuple(gates),), L)
    seen = []
    for (g0, g1, layer, _), row in zip(meta, bits, strict=True):
        assert layer == 0
        for g in range(g0, g1):
            seen.append((int(ops[g, 0]), int(row[ops[g, 1]]), int(row[ops[g, 2]])))
    assert seen == gates
    assert ops[:, 1:].max() < L


def small_qaoa(n: int) -> QAOAAnsatz:
    rng = np.random.default_rng(n)
    quad = sp.csr_matrix(np.triu(rng.normal(size=(n, n)), k=1))
    return QAOAAnsatz(BinaryProgram(linear=rng.normal(size=n), quadratic=quad), p=1)


@pytest.mark.skipif(gpu.engine_ready(), reason="a GPU (or the CUDA simulator) is present")
def test_without_a_gpu_the_gpu_engine_is_refused_and_never_chosen():
    assert not gpu.gpu_available()
    with pytest.raises(ValueError, match="engine 'gpu' requested but no CUDA device"):
        engine.choose_engine("gpu")
    with pytest.raises(ConfigError, match="exact:gpu.*no CUDA device"):
        get_backend("exact:gpu")
    validate_backend("exact:gpu")  # a valid name; only building it needs the device
    with pytest.raises(ConfigError, match="unknown engine; allowed: numba, numpy, gpu"):
        validate_backend("exact:cuda")
    assert get_backend("exact:numpy").engine == "numpy"
    assert not gpu_ansatz.use_gpu(small_qaoa(gpu_ansatz.GPU_MIN_QUBITS), None)


def test_default_engine_takes_a_present_gpu_for_large_qaoa_only(monkeypatch):
    monkeypatch.setattr(gpu, "gpu_available", lambda: True)
    monkeypatch.setattr(gpu, "fits", lambda n, dtype, cost: True)
    monkeypatch.setattr(gpu, "qaoa_energy", lambda *args, **kw: 42.0)
    big = small_qaoa(gpu_ansatz.GPU_MIN_QUBITS)
    assert engine.energy(big, np.array([0.1, 0.2])) == 42.0
    assert gpu_ansatz.use_gpu(big, None) and not gpu_ansatz.use_gpu(big, "numba")
    small = small_qaoa(6)
    assert not gpu_ansatz.use_gpu(small, None)
    assert engine.energy(small, np.array([0.1, 0.2])) != 42.0
    monkeypatch.setattr(gpu, "fits", lambda n, dtype, cost: False)
    assert not gpu_ansatz.use_gpu(big, None)


PTX_SCRIPT = """
import importlib.util, sys
from numba import cuda, types as T
try:
    from numba.cuda.cudadrv.nvvm import NVVM
    NVVM()
except Exception as exc:
    print("no NVVM:", exc)
    sys.exit(77)
if not cuda.is_available():  # device functions ask the current device for its capability
    import numba.cuda.dispatcher as D
    D.get_current_device = lambda: type("Dev", (), {"compute_capability": (9, 0)})()
spec = importlib.util.spec_from_file_location("gpu_ptx", sys.argv[1])
g = importlib.util.module_from_spec(spec)
spec.loader.exec_module(g)
k = g.kernels()
A = lambda t, nd=1: T.Array(t, nd, "C")
c64, c128, f32, f64, i64, i32 = T.complex64, T.complex128, T.float32, T.float64, T.int64, T.int32
sigs = [("cost", (A(f64), A(f64), A(f64, 2), i64)), ("init", (A(c64), A(c128, 2), i64)),
        ("phase", (A(c64), A(f32), f64)), ("phase_qubo", (A(c128), A(f64), A(f64, 2), f64, i64)),
        ("scale", (A(c64), c128)), ("gate1", (A(c64), i64, A(c128, 3), i64)),
        ("gate2", (A(c128), i64, i64, i64, A(c128, 3), i64)), ("energy", (A(c64), A(f32), A(f64))),
        ("reduce", (A(f64), A(f64))), ("probabilities", (A(c128), A(f64)))]
for c, f in ((c64, f32), (c128, f64)):
    sigs.append((c, (A(c), A(i32, 2), i64, i64, A(i32, 2), A(c128, 3), i64, i64, A(f), A(f64),
                     A(f64, 2), f64, i64, A(c128, 2), A(f64))))
for name, sig in sigs:
    fn = k.passes[str(name)] if not isinstance(name, str) else getattr(k, name)
    ptx, _ = cuda.compile_ptx(fn.py_func, sig, cc=(9, 0))
    assert ".target sm_90" in ptx, name
print("compiled", len(sigs))
"""


@pytest.mark.slow
def test_kernels_compile_for_a_real_device_where_nvvm_is_installed():
    """The simulator runs the kernels as Python, so it cannot catch what numba's CUDA target
    refuses (``min`` of two ints did not type); this compiles every kernel to sm_90 PTX."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    out = subprocess.run(
        [sys.executable, "-c", PTX_SCRIPT, str(GPU_PY)], capture_output=True, text=True, env=env
    )
    if out.returncode == 77:
        pytest.skip(f"needs NVVM (the CUDA toolkit or its pip wheels): {out.stdout.strip()}")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    assert "compiled 12" in out.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("numba.cuda") is None, reason="this numba ships no numba.cuda"
)
def test_engine_matches_cpu_and_qiskit_under_the_cuda_simulator():
    out = run_cases({"NUMBA_ENABLE_CUDASIM": "1", "QBENCH_GPU_TEST_N": "5"}, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout


@pytest.mark.skipif(not gpu.gpu_available(), reason="needs a CUDA GPU (numba.cuda finds none)")
def test_engine_matches_cpu_and_qiskit_on_the_gpu():
    out = run_cases({"NUMBA_ENABLE_CUDASIM": "0", "QBENCH_GPU_TEST_N": "14"}, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
