"""Norms of gradients and weights, batched, accurate to 1e-5 relative whatever their size and dtype."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch

# Accuracy: 1e-5 relative against float64, to 1e8 entries and beyond. torch's CPU kernel adds a
# contiguous float32 tensor's squares in 32 float32 accumulators (4 AVX2 vectors of 8), n/32 each
# in turn: the error grows like n, at worst n/32 * 2**-25 when all entries have one magnitude (a
# constant; Adam's first update): measured 9.4e-6 at 10240 entries, 1.5e-5 at 16384, 6e-5 at
# 65536 (random entries: 3e-7 at 1e4, 1e-5 at 1e6, 1e-2 at 1e8); strided (about 4 accumulators)
# 3.5e-6 at 512. So float32 tensors of up to LIMIT entries (STRIDED unless contiguous) keep the
# one batched `_foreach_norm`; a larger one (any float16/bfloat16 one) is cut into chunks of CHUNK
# (STRIDED) entries whose float32 norms, the partials (worst 3.8e-6), one `vector_norm` over the
# chunks' dims takes, and the batched call takes the partials' norm (adding at most 1.1e-6; in
# float64 beyond PARTIALS). The kernel runs as fast on rows of 256 and up as on a whole tensor:
# from ~1e6 entries this costs about one float32 norm; below, the extra call per tensor shows
# (benchmarks/bench_norms.py). A norm below TINY is taken again in float64 (float32 squares of
# entries under ~1e-19 are denormals, which lose digits, or 0), and so is a chunk whose partial is
# inf (its squares overflow, or an entry is inf). NaN entries give NaN, inf entries inf.
LIMIT, CHUNK, STRIDED, PARTIALS, TINY = 10240, 4096, 512, 1024, 1e-15
_BLOCK = 1 << 22  # entries cast at a time (a cast copies): float16/bfloat16 to float32, to float64
_vn = torch.linalg.vector_norm


def tensor_norms(tensors: Sequence[torch.Tensor]) -> np.ndarray:
    """The norm of each tensor, batched, accurate to 1e-5 relative (see the notes above LIMIT).

    Parameters
    ----------
    tensors : sequence of torch.Tensor
        Real floating-point tensors of any size, layout and dtype; an empty one has norm 0.

    Returns
    -------
    numpy.ndarray
        The float64 norm of each, in order: NaN for one with a NaN entry, else inf with an inf.
    """
    if not tensors:
        return np.zeros(0)
    with torch.no_grad():
        batch = [batchable(t) for t in tensors]  # partials' norm: the same
        values = np.array(stacked_norms(batch))
        for i in np.flatnonzero((values < TINY) | (values == math.inf)):
            values[i] = careful_norm(tensors[i])
    return values


def stacked_norms(batch: Sequence[torch.Tensor]) -> list[float]:
    """The norms of ``batch`` (tensors :func:`whole_batched` takes whole, and the
    :func:`chunk_partials` of the others) in the one batched call, as floats, unchecked."""
    return batched_norms(batch).tolist()


def batched_norms(batch: Sequence[torch.Tensor]) -> torch.Tensor:
    """:func:`stacked_norms` as a 1-D tensor, on ``batch``'s device (not yet read)."""
    return torch.stack(torch._foreach_norm(list(batch)))


def norms(groups: Sequence[Sequence[torch.Tensor | None]]) -> np.ndarray:
    """The norm of each group of tensors taken together (None counts as zero), batched.

    Parameters
    ----------
    groups : sequence of sequences of torch.Tensor or None
        Each tensor's norm is taken by :func:`tensor_norms`.

    Returns
    -------
    numpy.ndarray
        One float64 norm per group; a group without tensors has norm 0.
    """
    flat = [t for ts in groups for t in ts if t is not None]
    return group_norms(tensor_norms(flat), [sum(t is not None for t in ts) for ts in groups])


def group_norms(values: np.ndarray, sizes: Sequence[int], empty: float = 0.0) -> np.ndarray:
    """sqrt of the sum of squares of consecutive runs of ``values``.

    Parameters
    ----------
    values : numpy.ndarray
        Norms, the runs one after another.
    sizes : sequence of int
        The length of each run (adding up to ``len(values)``).
    empty : float
        The result for a run of size 0.

    Returns
    -------
    numpy.ndarray
        One value per run (``values`` itself when every run has size 1).
    """
    if all(n == 1 for n in sizes):  # one value a group: nothing to add up
        return values
    group = np.repeat(np.arange(len(sizes)), sizes)
    out = np.sqrt(np.bincount(group, values**2, minlength=len(sizes)))
    if empty != 0:
        out[np.asarray(sizes) == 0] = empty
    return out


def single_norm(t: torch.Tensor) -> float:
    """||t|| as :func:`tensor_norms` takes it, for a hook's single tensor."""
    return checked(t, float(_vn(batchable(t))))


def batchable(t: torch.Tensor) -> torch.Tensor:
    """What a batched norm call takes for ``t``: ``t`` itself if :func:`whole_batched`, else
    its :func:`chunk_partials` (whose norm is the same)."""
    return t if whole_batched(t) else chunk_partials(t)


def checked(t: torch.Tensor, value: float) -> float:
    """``value``, the batched norm of ``t``, or :func:`careful_norm` when it is below ``TINY``
    or infinite (where float32 may fall short)."""
    return careful_norm(t) if value < TINY or value == math.inf else value


def whole_batched(t: torch.Tensor) -> bool:
    """Whether ``t``'s norm is taken whole: float64, or float32 and small enough to be accurate."""
    if t.dtype is torch.float32:
        return (n := t.numel()) <= STRIDED or (n <= LIMIT and t.is_contiguous())
    return t.dtype is torch.float64


def chunk_partials(t: torch.Tensor) -> torch.Tensor:
    """The float32 norms of ``t``'s chunks (:func:`_plan`; times sqrt(count) for expanded dims),
    in float64 when there are more than PARTIALS of them."""
    count, pieces = _plan(t.shape, t.stride(), t.is_contiguous())
    if pieces[0][0] is None and t.dtype is torch.float32:  # the tensor as it is
        p = _vn(t, dim=d[0] if len(d := pieces[0][3]) == 1 else d)  # an int dim is cheaper
    else:
        ps = [_piece(v, dims, torch.float32).reshape(-1) for v, dims in _views(t)[1]]
        p = ps[0] if len(ps) == 1 else torch.cat(ps)
        p = p if count == 1 else p * math.sqrt(count)
    return p if p.numel() <= PARTIALS else p.double()


def careful_norm(t: torch.Tensor) -> float:
    """||t|| where float32 falls short: in float64 for a small (or float64) tensor; for a large
    one, a chunk whose partial is inf is taken again in float64, and the whole norm if below TINY."""
    if t.numel() <= LIMIT or t.dtype == torch.float64:
        return float(_vn(t, dtype=torch.float64))
    (count, views), sq = _views(t), 0.0
    for v, dims in views:
        p = _piece(v, dims, torch.float32).double()
        if (bad := torch.isinf(p)).any():
            p[bad] = _piece(v[bad], tuple(range(1, len(dims) + 1)), torch.float64)
        sq += float(p.square().sum())
    if math.sqrt(count * sq) < TINY:
        sq = sum(float(_piece(v, dims, torch.float64).square().sum()) for v, dims in views)
    return math.sqrt(count * sq)


def _piece(v: torch.Tensor, dims: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """The norms of ``v`` over ``dims`` (its last ones) in ``dtype``, cast _BLOCK entries at a time."""
    if v.dtype == dtype or v.numel() <= _BLOCK or dims[0] == 0:
        return _vn(v.to(dtype), dim=dims)
    if step := _BLOCK * v.shape[0] // v.numel():
        return torch.cat([_piece(b, dims, dtype) for b in v.split(step)])
    return torch.stack([_piece(b, tuple(d - 1 for d in dims), dtype) for b in v.unbind()])


def _views(t: torch.Tensor) -> tuple[int, list[tuple[torch.Tensor, tuple[int, ...]]]]:
    """:func:`_plan`'s count and pieces for ``t``, as views with the dims to reduce."""
    count, pieces = _plan(t.shape, t.stride(), t.is_contiguous())
    at = t.storage_offset()
    return count, [(t if s is None else t.as_strided(s, st, at + o), dims) for s, st, o, dims in pieces]


@functools.lru_cache(maxsize=256)
def _plan(shape: tuple[int, ...], stride: tuple[int, ...], contiguous: bool) -> tuple[int, tuple]:
    """How to cut a tensor of this layout into chunks of up to CHUNK entries (STRIDED unless
    contiguous): how many times each entry counts, and pieces ``(size, stride, offset, dims)``
    (size None: the tensor itself) whose norms over ``dims`` are the partials. A contiguous tensor
    is reduced over last dims of 256 to CHUNK entries (fewer if at most 256 partials) as it is.
    Else, as a norm does not depend on the entries' order, size-1 dims go, stride-0 (expanded)
    ones are counted, the rest merge by stride where they line up (a transposed tensor reads as
    contiguous), and the next dim past those that fit is split into blocks (of a divisor of its
    size near the most that fit, if any) and a tail."""
    p, d = 1, len(shape)
    while contiguous and d and p * shape[d - 1] <= CHUNK:
        d -= 1
        p *= shape[d]
    if contiguous and (p >= CHUNK // 16 or math.prod(shape) <= 256 * p):
        return 1, ((None, None, 0, tuple(range(d, len(shape)))),)
    count = math.prod(n for n, s in zip(shape, stride, strict=True) if s == 0)
    sizes, strides = [], []
    for s, n in sorted(((s, n) for n, s in zip(shape, stride, strict=True) if s and n != 1), reverse=True):
        if strides and strides[-1] == s * n:
            sizes[-1], strides[-1] = sizes[-1] * n, s
        else:
            sizes, strides = [*sizes, n], [*strides, s]
    chunk = CHUNK if strides == [1] else STRIDED
    p, d = 1, len(sizes)
    while d and p * sizes[d - 1] <= chunk:
        d -= 1
        p *= sizes[d]
    if not d:
        return count, ((tuple(sizes), tuple(strides), 0, tuple(range(len(sizes)))),)
    size, step, top = sizes[d - 1], strides[d - 1], chunk // p
    b = next((c for c in range(top, top // 2, -1) if size % c == 0), top)
    q, r = divmod(size, b)
    main = ((*sizes[: d - 1], q, b, *sizes[d:]), (*strides[: d - 1], step * b, step, *strides[d:]))
    pieces = [(*main, 0, tuple(range(d, len(sizes) + 1)))]
    if r:
        tail = (*sizes[: d - 1], r, *sizes[d:])
        pieces.append((tail, tuple(strides), q * b * step, tuple(range(d - 1, len(sizes)))))
    return count, tuple(pieces)
