"""Read-out of a full 2ⁿ distribution with bounded temporaries.

A variational run ends by reading the final state: |ψ|², ``shots`` samples, the most probable
states, the mean energy and its CVaR. Done with whole-array numpy expressions this held
several 2ⁿ arrays at once (the probabilities, a states array, ``Generator.choice``'s cumulative
sums, sort indices, gathered copies): whole QAOA runs peaked at 56 (CVaR: 64) bytes per
amplitude in the read-out. Here every function walks its 2ⁿ inputs in chunks of :data:`CHUNK`
entries, so beyond its inputs and its (small) result it allocates O(CHUNK) bytes, and the
results are bit for bit those of the whole-array code (except where a function says so):

* :func:`probabilities_in_place` — |ψ_s|² as float64 written over the state's own buffer
  (and :func:`narrow_in_place`: a complex128 state as complex64 over its own buffer);
* :func:`sample_indices` — ``rng.choice(size, size=shots, p=probs)`` without its cumulative
  array;
* :func:`most_probable` — the indices above a probability cut-off, at most ``limit`` of them
  (ties at the limit: lower indices, where a full sort left the choice to the sort);
* :func:`is_arange` — whether a states array is 0, 1, …, 2ⁿ − 1;
* :func:`cvar_along` — CVaR_α along a cached ascending energy order (the same cumulative
  sums; the p·v sum per chunk, so beyond CHUNK states equal only to rounding).
"""

from __future__ import annotations

import numpy as np

#: entries per chunk: 512 KiB of float64, large enough that numpy's per-call cost vanishes
CHUNK = 1 << 16


def _squares(z: np.ndarray, engine: str) -> np.ndarray:
    """|z|² of a chunk in the arithmetic of :func:`~qbench.hardware.exact.engine.probabilities`:
    the numba kernel squares in the state's precision (float32 for complex64), the numpy
    reference converts to float64 first (the two agree for complex128)."""
    if engine == "numba":
        re, im = z.real, z.imag
    else:
        re, im = z.real.astype(np.float64), z.imag.astype(np.float64)
    out = re * re
    out += im * im
    return out


def probabilities_into(state: np.ndarray, out: np.ndarray, engine: str) -> np.ndarray:
    """``out[:] = |ψ_s|²`` (float64, bit for bit :func:`~qbench.hardware.exact.engine.
    probabilities` on ``engine``), chunk by chunk; returns ``out``."""
    for a in range(0, state.size, CHUNK):
        out[a : a + CHUNK] = _squares(state[a : a + CHUNK], engine)
    return out


def probabilities_in_place(state: np.ndarray, engine: str) -> np.ndarray:
    """``|ψ_s|²`` as float64, bit for bit :func:`~qbench.hardware.exact.engine.probabilities`
    on ``engine``, written over the state's buffer: the state is consumed (do not use it after).

    complex64: probability s takes amplitude s's 8 bytes. complex128: probability s goes to the
    first 8 bytes of amplitude s/2 (chunk by chunk, each written only after the amplitudes it
    overwrites were read); a buffer the state owns is then shrunk to 8·2ⁿ bytes in place
    (``realloc``, ``mremap`` for large arrays), one it does not own (Aer's) is kept whole under
    the returned view — still no second array beside it. So the read-out peak is the state,
    not the state plus 8·2ⁿ. A read-only or strided state gets a new array instead.
    """
    size = state.size
    writable = state.ndim == 1 and state.flags.c_contiguous and state.flags.writeable and size >= 2
    if not writable:
        return probabilities_into(state, np.empty(size), engine)
    flat = state.view(np.float64)
    for a in range(0, size, CHUNK):
        b = min(a + CHUNK, size)
        flat[a:b] = _squares(state[a:b], engine)
    if state.dtype == np.complex64:
        return flat
    if not (state.flags.owndata and state.base is None):
        return flat[:size]
    del flat
    state.resize(size // 2, refcheck=False)  # drops the second half (nothing else views it)
    return state.view(np.float64)


def narrow_in_place(state: np.ndarray) -> np.ndarray:
    """A complex128 state as complex64 (``astype``'s rounding) written over the first half of
    its own buffer, chunk by chunk after reading: the view returned keeps the whole buffer, but
    no complex64 copy is ever allocated beside it. A read-only or strided state is copied."""
    size = state.size
    if not (state.ndim == 1 and state.flags.c_contiguous and state.flags.writeable):
        return state.astype(np.complex64)
    narrow = state.view(np.complex64)
    for a in range(0, size, CHUNK):
        b = min(a + CHUNK, size)
        narrow[a:b] = state[a:b]
    return narrow[:size]


def _cumsum_from(values: np.ndarray, carry: float) -> np.ndarray:
    """``np.cumsum`` of a chunk continuing a running sum ``carry``: bit for bit the entries a
    cumulative sum over the whole array has there (``add.accumulate`` adds left to right)."""
    out = np.array(values, dtype=np.float64, copy=True)
    if carry:
        out[0] += carry
    np.cumsum(out, out=out)
    return out


def sample_indices(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``rng.choice(probs.size, size=shots, p=probs)`` bit for bit, without its 2ⁿ arrays.

    ``Generator.choice`` builds ``cdf = cumsum(p) / cdf[-1]``, draws ``rng.random(shots)`` and
    returns ``cdf.searchsorted(u, side="right")``. Here one pass keeps only each chunk's last
    cumulative sum; the uniforms come from the same ``rng.random(shots)`` call; a uniform's
    chunk is found among the chunk ends (normalised with the same division), and only the
    chunks drawn into are summed again, continuing from the previous chunk's end.
    ValueError for negative or non-finite probabilities, or a zero total.
    """
    probs = np.asarray(probs, dtype=np.float64)
    size = probs.size
    ends = np.empty(-(-size // CHUNK))
    carry = 0.0
    for c, a in enumerate(range(0, size, CHUNK)):
        chunk = probs[a : a + CHUNK]
        if np.any(chunk < 0):
            raise ValueError("probabilities are not non-negative")
        carry = float(_cumsum_from(chunk, carry)[-1])
        ends[c] = carry
    total = carry
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"probabilities must have a finite positive sum, got {total}")
    uniforms = rng.random(int(shots))
    chunk_of = np.searchsorted(ends / total, uniforms, side="right")
    out = np.empty(uniforms.size, dtype=np.int64)
    for c in np.unique(chunk_of):
        a = int(c) * CHUNK
        cdf = _cumsum_from(probs[a : a + CHUNK], float(ends[c - 1]) if c else 0.0)
        cdf /= total
        hit = chunk_of == c
        out[hit] = a + np.searchsorted(cdf, uniforms[hit], side="right")
    return out


def most_probable(probs: np.ndarray, cutoff: float, limit: int) -> np.ndarray:
    """Ascending indices of the states with probability above ``cutoff``, and when there are
    more than ``limit`` of them, of the ``limit`` most probable (equal probabilities at the
    boundary: the lower indices). Two chunked passes: the ``limit`` largest values give the
    threshold, then the indices are collected."""
    size = probs.size
    count = 0
    top = np.empty(0)
    for a in range(0, size, CHUNK):
        chunk = probs[a : a + CHUNK]
        above = chunk[chunk > cutoff]
        count += above.size
        if top.size >= limit:
            above = above[above > top[0]]  # top[0] is its minimum (see below)
        if above.size:
            top = np.concatenate([top, above])
            if top.size > limit:
                top = np.partition(top, top.size - limit)[top.size - limit :]
            top = np.partition(top, 0) if top.size > 1 else top  # minimum first
    if count <= limit:
        found = [a + np.flatnonzero(probs[a : a + CHUNK] > cutoff) for a in range(0, size, CHUNK)]
        return np.concatenate(found).astype(np.int64) if found else np.empty(0, dtype=np.int64)
    threshold = top[0]
    greater, equal = [], []
    need = limit - int(np.count_nonzero(top > threshold))
    for a in range(0, size, CHUNK):
        chunk = probs[a : a + CHUNK]
        greater.append(a + np.flatnonzero(chunk > threshold))
        if need > 0:
            ties = a + np.flatnonzero(chunk == threshold)[:need]
            equal.append(ties)
            need -= ties.size
    return np.sort(np.concatenate(greater + equal)).astype(np.int64)


def is_arange(states: np.ndarray, size: int) -> bool:
    """True when ``states`` is exactly 0, 1, …, size − 1 (checked chunk by chunk)."""
    if states.size != size:
        return False
    for a in range(0, size, CHUNK):
        chunk = states[a : a + CHUNK]
        if not np.array_equal(chunk, np.arange(a, a + chunk.size)):
            return False
    return True


def cvar_along(
    values: np.ndarray, probs: np.ndarray, order: np.ndarray, alpha: float, total: float
) -> float:
    """CVaR_α of ``values`` under ``probs / total``, given ``order`` sorting ``values`` ascending:
    the mass is accumulated along the order (the same cumulative sums as over the sorted
    arrays) only until it reaches α, the state at the boundary contributing the remainder.

    Equal to :func:`qbench.solvers.variational.cvar` on the gathered arrays up to rounding: the
    sum of p·v is taken per chunk rather than by one ``np.dot``.
    """
    carry, acc = 0.0, 0.0
    size = order.size
    for a in range(0, size, CHUNK):
        idx = order[a : a + CHUNK]
        p = probs[idx] / total
        cum = _cumsum_from(p, carry)
        k = int(np.searchsorted(cum, alpha, side="left"))  # first index with cum >= alpha
        if k == cum.size and a + CHUNK >= size:
            k = cum.size - 1  # rounding left the whole mass below α: the last state closes it
        if k < cum.size:
            v = values[idx[: k + 1]]
            before = cum[k - 1] if k else carry
            return float((acc + np.dot(p[:k], v[:k]) + (alpha - before) * v[k]) / alpha)
        acc += float(np.dot(p, values[idx]))
        carry = float(cum[-1])
    raise ValueError("empty distribution")
