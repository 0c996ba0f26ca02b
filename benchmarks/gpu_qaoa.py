"""Seconds per QAOA energy evaluation on one GPU: qbench's GPU engine (hardware/exact/gpu.py),
against QOKit's GPU simulator and qbench's CPU engine where they are installed.

Usage: ``python benchmarks/gpu_qaoa.py [--sizes 26,28,30,31,32,33] [--repeat 3] [--quick]``.

Meant for a machine with an NVIDIA GPU, numba-cuda and numpy, where qiskit (and so the rest of
qbench) may be missing: gpu.py is loaded by its path. Steps:

1. correctness at n = 12 (6 under ``NUMBA_ENABLE_CUDASIM=1``) against a numpy reference written
   here: X-mixer QAOA p = 2, an XY-ring layer, a gate list with CX/CZ; fused passes, the plain
   kernels and complex64 — max |Δψ| and |ΔE| printed, the run stops if they disagree;
2. per n of ``--sizes`` (complex64 state, float32 cost vector; a size whose 12·2ⁿ bytes do not
   fit the free device memory is skipped with the numbers): the first call's seconds (kernel
   compilation at the first size, the cost vector on the device), then the best of
   ``--repeat`` evaluations for p = 1 and p = 2, the energy, the seconds of one elementwise
   complex64 multiply over the state (a *sweep*) and the marginal cost of a layer in sweeps,
   (t(p=2) − t(p=1)) / sweep; at the smallest size also plain kernels (``block_bits=0``) and
   complex128, whose energies must agree;
3. QOKit's ``choose_simulator(name="gpu")`` (complex128 state, float32 costs from the same
   QUBO as Ising terms; its γ, β are twice ours) on the same instance where it imports and
   its 20·2ⁿ bytes fit: seconds per evaluation and the energy difference;
4. qbench's CPU engine (``ExactBackend``, numba, complex64) for n ≤ ``--cpu-max-n`` where
   qbench imports (it needs qiskit); otherwise said and skipped.

Workload: a dense random QUBO (all n(n−1)/2 couplings, normal weights, seeded by n, as in
benchmarks/qaoa_speed.py), X mixer, random angles in [−0.5, 0.5]. Without a GPU the script
says so and stops after step 1 (which needs the CUDA simulator to run at all).

No GPU run is recorded yet: this is the script that will record one.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from time import perf_counter

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def load_gpu():
    """hardware/exact/gpu.py as a module of its own (works without qiskit and qbench)."""
    spec = importlib.util.spec_from_file_location("qbench_gpu", ROOT / "hardware/exact/gpu.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gpu = load_gpu()


# ---------------------------------------------------------------------------------------------
# instance, angles, reference
# ---------------------------------------------------------------------------------------------


def dense_qubo(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(h, Q upper triangle, Qs symmetric, constant) of a dense random QUBO seeded by n."""
    rng = np.random.default_rng(n)
    h = rng.normal(size=n)
    q = np.triu(rng.normal(size=(n, n)), k=1)
    return h, q, q + q.T, 1.0


def rx(beta: float) -> np.ndarray:
    """RX(2β) = exp(-iβX)."""
    c, s = math.cos(beta), math.sin(beta)
    return np.array([[c, -1j * s], [-1j * s, c]])


def x_layers(n: int, params: np.ndarray) -> list:
    """QAOA layers (γ, per-qubit RX(2β)) of ``params`` = [γ_1..γ_p, β_1..β_p]."""
    p = params.size // 2
    return [(params[k], np.stack([rx(params[p + k])] * n)) for k in range(p)]


def plus(n: int) -> np.ndarray:
    """Per-qubit amplitudes of |+⟩ⁿ."""
    return np.full((n, 2), 1 / math.sqrt(2), dtype=complex)


def ref_cost(n: int, h: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """C(s) − constant for all s (numpy, small n)."""
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    return bits @ h + 0.5 * np.einsum("si,ij,sj->s", bits, qs, bits)


def ref_gate(state: np.ndarray, kind: int, a: int, b: int, m: np.ndarray) -> None:
    """One gate of a gate list on a numpy state, in place (gpu.py's kinds)."""
    n = state.size.bit_length() - 1
    idx = np.arange(state.size)
    bit = lambda q: (idx >> q) & 1  # noqa: E731
    if kind == gpu.ONE_Q:
        i0 = idx[bit(a) == 0]
        x, y = state[i0].copy(), state[i0 | 1 << a].copy()
        state[i0], state[i0 | 1 << a] = m[0, 0] * x + m[0, 1] * y, m[1, 0] * x + m[1, 1] * y
        return
    base = idx[(bit(a) == 0) & (bit(b) == 0)]
    ia, ib = base | 1 << a, base | 1 << b
    if kind == gpu.XY:
        x, y = state[ia].copy(), state[ib].copy()
        state[ia], state[ib] = m[0, 0] * x + m[0, 1] * y, m[0, 1] * x + m[0, 0] * y
    elif kind == gpu.CX:
        x = state[ia].copy()
        state[ia], state[ia | 1 << b] = state[ia | 1 << b], x
    elif kind == gpu.CZ:
        state[ia | 1 << b] *= -1
    assert n > max(a, b)


def ref_program(n, amps, program, cost) -> np.ndarray:
    """A gpu.py program (per layer: phase, gates) on a numpy complex128 state."""
    state = np.ones(1, dtype=complex)
    for q in range(n):
        state = np.concatenate([state * amps[q, 0], state * amps[q, 1]])
    for ph, gates in program:
        if ph is not None:
            state *= np.exp(-1j * ph[1] * cost)
        for kind, a, b, m in gates:
            ref_gate(state, kind, a, b, m)
    return state


def check_correctness(n: int) -> None:
    """Step 1: the engine against the numpy reference; SystemExit when they disagree."""
    h, _, qs, const = dense_qubo(n)
    cost = ref_cost(n, h, qs)
    params = np.random.default_rng(1).uniform(-0.5, 0.5, 4)
    rng = np.random.default_rng(2)
    xy = [(a, (a + 1) % n, 0.37) for a in range(0, n, 2)] + [(a, (a + 1) % n, 0.37)
                                                             for a in range(1, n, 2)]  # fmt: skip
    one_hot = np.zeros((n, 2), dtype=complex)
    one_hot[:, 0] = 1
    one_hot[::3] = [0, 1]
    gates = []
    for k in range(3 * n):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        kind = gpu.KINDS[k % 4]
        u = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0]
        m = u if kind == gpu.ONE_Q else np.array([[math.cos(0.3 * k), -1j * math.sin(0.3 * k)],
                                                  [0, 0]])  # fmt: skip
        gates.append((kind, a, a if kind == gpu.ONE_Q else b, m))
    kinds, q0, q1, mats = (list(x) for x in zip(*gates, strict=True))
    cases = {
        "QAOA x p=2": (plus(n), x_layers(n, params)),
        "QAOA xy-ring p=1": (one_hot, [(0.4, xy)]),
    }
    worst = {}
    for name, (amps, layers) in cases.items():
        ref = ref_program(n, amps, gpu.qaoa_program(n, layers), cost)
        e_ref = float(np.abs(ref) ** 2 @ cost) + const
        for dtype, bb, tol in (("complex128", None, 1e-10), ("complex128", 0, 1e-10),
                               ("complex128", 3, 1e-10), ("complex64", None, 1e-4)):  # fmt: skip
            state = gpu.qaoa_state(h, qs, amps, layers, dtype, block_bits=bb)
            e = gpu.qaoa_energy(h, qs, const, amps, layers, dtype, block_bits=bb)
            worst[f"{name} {dtype} block_bits={bb}"] = (np.abs(state - ref).max(), abs(e - e_ref))
            if np.abs(state - ref).max() > tol or abs(e - e_ref) > tol * 10 * max(1, abs(e_ref)):
                report(worst)
                raise SystemExit(f"FAILED: {name} {dtype} block_bits={bb} disagrees with numpy")
    ref = ref_program(n, np.array([[1, 0]] * n, dtype=complex), [(None, gates)], cost)
    for bb in (None, 0, 3):
        state = gpu.circuit_state(n, kinds, q0, q1, np.array(mats), block_bits=bb)
        e = gpu.circuit_energy(n, kinds, q0, q1, np.array(mats), h, qs, const, block_bits=bb)
        de = abs(e - float(np.abs(ref) ** 2 @ cost) - const)
        worst[f"gate list complex128 block_bits={bb}"] = (np.abs(state - ref).max(), de)
        if np.abs(state - ref).max() > 1e-10 or de > 1e-9:
            report(worst)
            raise SystemExit(f"FAILED: gate list block_bits={bb} disagrees with numpy")
    report(worst)
    gpu.release()


def report(worst: dict) -> None:
    print("| check | max abs(Δψ) | abs(ΔE) |\n|---|---|---|")
    for name, (ds, de) in worst.items():
        print(f"| {name} | {ds:.1e} | {de:.1e} |")
    print(flush=True)


# ---------------------------------------------------------------------------------------------
# timings
# ---------------------------------------------------------------------------------------------


def best_of(repeat: int, fn) -> tuple[float, float, float]:
    """(seconds of the first call, best of ``repeat`` further calls, last value)."""
    t0 = perf_counter()
    value = fn()
    first = perf_counter() - t0
    best = math.inf
    for _ in range(repeat):
        t0 = perf_counter()
        value = fn()
        best = min(best, perf_counter() - t0)
    return first, best, value


def qokit_energy(n: int, h, q, const, params, repeat: int):
    """(s/eval, energy) of QOKit's GPU simulator, or (None, reason)."""
    try:
        from qokit.fur import choose_simulator
    except Exception as exc:  # not installed, or its own imports fail
        return None, f"QOKit not importable ({type(exc).__name__}: {exc})"
    need = 20 * (1 << n) + gpu.DEVICE_MARGIN
    free = gpu.free_memory()[0]
    if need > free:
        return (
            None,
            f"QOKit needs {need / 2**30:.1f} GiB (complex128 state), {free / 2**30:.1f} free",
        )
    # x = (1 − s)/2: C = const' + Σ_i a_i s_i + Σ_{i<j} q_ij/4 s_i s_j
    a = -h / 2 - (q + q.T).sum(axis=1) / 4
    offset = const + h.sum() / 2 + q.sum() / 4
    terms = [(float(a[i]), (i,)) for i in range(n)]
    terms += [(float(q[i, j] / 4), (i, j)) for i in range(n) for j in range(i + 1, n)]
    p = params.size // 2
    gammas, betas = 2 * params[:p], 2 * params[p:]
    try:
        sim = choose_simulator(name="gpu")(n, terms=terms)
        _, t, e = best_of(repeat, lambda: qokit_run(sim, gammas, betas) + offset)
        return t, e
    except Exception as exc:
        return None, f"QOKit failed ({type(exc).__name__}: {exc})"
    finally:
        sim = None
        gc.collect()
        gpu.release()  # also frees what numba deferred of QOKit's arrays


def qokit_run(sim, gammas, betas) -> float:
    """One QOKit evaluation: simulate, then ⟨C⟩ over the state itself (no copy)."""
    res = sim.simulate_qaoa(gammas, betas)
    return float(sim.get_expectation(res, preserve_state=False))


def cpu_energy(n: int, h, q, const, params, repeat: int):
    """(s/eval, energy) of qbench's CPU engine (numba, complex64), or (None, reason)."""
    try:
        import scipy.sparse as sp

        from qbench.hardware.base import QAOAAnsatz
        from qbench.hardware.exact import ExactBackend
        from qbench.program import BinaryProgram
    except Exception as exc:
        return None, f"qbench's CPU engine not importable ({type(exc).__name__}: {exc})"
    qubo = BinaryProgram(linear=h, quadratic=sp.csr_matrix(q), constant=const)
    ansatz = QAOAAnsatz(qubo, p=params.size // 2)
    backend = ExactBackend(dtype="complex64", engine="numba")
    _, t, e = best_of(repeat, lambda: backend.expectation(ansatz, params))
    return t, e


def device_line() -> str:
    """The device as nvidia-smi names it (name, memory, driver), else gpu.py's name."""
    if shutil.which("nvidia-smi"):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0]
    return gpu.device_name()


def time_size(n: int, p: int, times: dict, args, first_size: bool, notes: list) -> str:
    """One table row: the GPU engine (complex64) at n qubits and p layers, then QOKit and the
    CPU engine on the same instance and angles; ``times`` keeps the GPU's s/eval per p."""
    h, q, qs, const = dense_qubo(n)
    amps = plus(n)
    params = np.random.default_rng(n + p).uniform(-0.5, 0.5, 2 * p)
    layers = x_layers(n, params)
    first, t, e = best_of(
        args.repeat, lambda: gpu.qaoa_energy(h, qs, const, amps, layers, "complex64")
    )
    times[p] = t
    sweep = gpu.sweep_seconds(n, "complex64")
    sweeps = f"{(times[2] - times[1]) / sweep:.1f}/layer" if p == 2 else f"{t / sweep:.1f}/eval"
    energies, extra = [e], []
    if first_size and p == 2:  # the plain kernels and complex128 must agree
        for label, dtype, bb in (("plain", "complex64", 0), ("c128", "complex128", None)):
            if gpu.fits(n, dtype):
                t0 = perf_counter()
                energies.append(gpu.qaoa_energy(h, qs, const, amps, layers, dtype, block_bits=bb))
                extra.append(f"{label} {perf_counter() - t0:.3g} s")
    gpu.release()
    tq, eq = qokit_energy(n, h, q, const, params, args.repeat)
    if tq is None:
        notes.append(f"n={n} p={p}: {eq}")
    else:
        energies.append(eq)
    tc, ec = None, None
    if n <= args.cpu_max_n:
        tc, ec = cpu_energy(n, h, q, const, params, args.repeat)
        if tc is None:
            notes.append(f"n={n}: {ec}")
        else:
            energies.append(ec)
    diff = max(abs(x - e) for x in energies)
    more = f" ({', '.join(extra)})" if extra else ""
    return (
        f"| {n} | {p} | {gpu.device_bytes(n, 'complex64') / 2**30:.1f} | {first:.3g} | {t:.4g} "
        f"| {sweep * 1e3:.3g} | {sweeps} | {e:.6f} | {cell(tq)} | {cell(tq, t, 'x')} "
        f"| {cell(tc)} | {cell(tc, t, 'x')} | {diff:.1e}{more} |"
    )


def cell(value: float | None, ref: float | None = None, unit: str = "") -> str:
    """A table cell: "—" for a skipped method, seconds, or the ratio value/ref."""
    if value is None:
        return "—"
    return f"{value / ref:.1f}{unit}" if ref else f"{value:.4g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="26,28,30,31,32,33", help="qubit counts, comma list")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="sizes 20,22 only")
    parser.add_argument("--cpu-max-n", type=int, default=24)
    parser.add_argument("--check-n", type=int, default=None, help="qubits of step 1")
    args = parser.parse_args(argv)
    sizes = [20, 22] if args.quick else [int(s) for s in args.sizes.split(",")]

    print(f"# GPU QAOA engine — device: {device_line()}; numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    if not gpu.engine_ready():
        print("\nno CUDA GPU found by numba.cuda (and NUMBA_ENABLE_CUDASIM is not set): "
              "skipping every GPU step")  # fmt: skip
        return
    print("\n## 1. correctness against numpy\n")
    check_correctness(args.check_n or (6 if gpu.simulator() else 12))
    if gpu.simulator():
        print("CUDA simulator: timings skipped (they would measure Python threads)")
        return

    print("## 2–4. seconds per energy evaluation (complex64 unless noted)\n")
    print("| n | p | GiB | first call (s) | GPU s/eval | sweep (ms) | sweeps | energy "
          "| QOKit s/eval | QOKit/GPU | CPU s/eval | CPU/GPU | max abs(ΔE) |")  # fmt: skip
    print("|---" * 13 + "|", flush=True)
    notes: list[str] = []
    for idx, n in enumerate(sizes):
        need = gpu.device_bytes(n, "complex64")
        if not gpu.fits(n, "complex64"):
            free = gpu.free_memory()[0]
            notes.append(f"n={n}: needs {need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free")
            print(f"| {n} | — | {need / 2**30:.1f} | skipped: does not fit |" + " |" * 9)
            continue
        times: dict[int, float] = {}
        for p in (1, 2):
            print(time_size(n, p, times, args, idx == 0, notes), flush=True)
        gpu.release()
    if notes:
        print("\nSkipped or failed:\n" + "\n".join(f"- {s}" for s in dict.fromkeys(notes)))


if __name__ == "__main__":
    main()
