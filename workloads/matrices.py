"""Sparse matrices for SpGEMM: generators, real matrices shipped in packages, user files, DNN data.

Every matrix has a short name usable from the CLI (:data:`MATRICES`, :func:`load_matrix`):

- ``rmatS`` (S = 8..20): R-MAT / Kronecker with the Graph500 parameters a = 0.57, b = c = 0.19,
  d = 0.05, 2^S vertices, edge factor 16, vertex labels randomly permuted as Graph500 does, seeded;
  duplicate edges are summed (values count multiplicity).
- ``erS``: Erdos-Renyi with 2^S vertices and 16 edges per vertex on average, seeded.
- pyamg's gallery example data (``bar``, ``airfoil``, ``knot``, ``recirc_flow``, ``unit_cube``,
  ``unit_square``, ``local_disc_galerkin_diffusion``, and ``helmholtz_2D``, whose complex values we
  replace by their real part), loaded with ``scipy.io.loadmat`` key ``A``.
- ``propack``: scipy's PROPACK test matrix (1850 x 712, 8,636 non-zeros; the Harwell-Boeing illc1850
  shape). It is stored as a pickled object array inside scipy's own test data; we load that one
  trusted package file, never a user's.
- ``minilm_ffn_in`` / ``minilm_ffn_out``: all-MiniLM-L6-v2's first FFN weights (1536 x 384 and
  384 x 1536) magnitude-pruned to 10% density: real trained weights.
- ``relu_resnet18``: post-ReLU activations of the zoo's ResNet-18 (its first stage's output,
  ``[B*H*W, C]``) on real images: scikit-learn's digits, upscaled to 224 x 224 x 3, 8 images; the
  network has the zoo's seeded initialisation, so the sparsity comes from ReLU on real inputs.
- A user's Matrix Market file (``.mtx``), validated.

All loaders return ``scipy.sparse.csr_matrix`` of float64 with sorted indices and no duplicates.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from simulator.common.errors import SparsimInputError

__all__ = ["MATRICES", "rmat", "erdos_renyi", "load_matrix", "read_matrix_market", "canonical"]

PYAMG = (
    "bar",
    "airfoil",
    "knot",
    "recirc_flow",
    "unit_cube",
    "unit_square",
    "local_disc_galerkin_diffusion",
    "helmholtz_2D",
)


def canonical(a) -> sp.csr_matrix:
    """CSR, float64, duplicates summed, explicit zeros dropped, indices sorted."""
    m = sp.csr_matrix(a, dtype=np.float64)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    return m


def rmat(
    scale: int, edge_factor: int = 16, a: float = 0.57, b: float = 0.19, c: float = 0.19, seed: int = 0
) -> sp.csr_matrix:
    """Graph500 R-MAT: ``2^scale`` vertices, ``edge_factor * 2^scale`` edges (before summing)."""
    if not 1 <= scale <= 26:
        raise SparsimInputError("rmat", "scale", scale, "an integer from 1 to 26")
    n = 1 << scale
    edges = edge_factor * n
    rng = np.random.default_rng(seed)
    rows = np.zeros(edges, dtype=np.int64)
    cols = np.zeros(edges, dtype=np.int64)
    ab, abc = a + b, a + b + c
    for bit in range(scale):
        r = rng.random(edges)
        row_bit = r >= ab  # quadrants c, d: lower half
        col_bit = ((r >= a) & (r < ab)) | (r >= abc)  # quadrants b, d: right half
        rows |= row_bit.astype(np.int64) << bit
        cols |= col_bit.astype(np.int64) << bit
    perm = rng.permutation(n)
    return canonical(sp.coo_matrix((np.ones(edges), (perm[rows], perm[cols])), shape=(n, n)))


def erdos_renyi(scale: int, avg_degree: int = 16, seed: int = 0) -> sp.csr_matrix:
    """Uniformly random edges: ``2^scale`` vertices, ``avg_degree * 2^scale`` edges (summed)."""
    n = 1 << scale
    rng = np.random.default_rng(seed)
    e = avg_degree * n
    return canonical(sp.coo_matrix((np.ones(e), (rng.integers(0, n, e), rng.integers(0, n, e))), shape=(n, n)))


#: the largest matrix side we accept: a CSR row pointer of 2**26 rows is 0.5 GB
MAX_MATRIX_SIDE = 1 << 26
#: the most stored entries we accept (about 3 GB while reading)
MAX_MATRIX_NNZ = 1 << 27
#: the largest magnitude of an entry: products and their sums must stay finite in float64
MAX_MATRIX_ABS = 1e100


def _mm_size_line(fh, src: str) -> tuple[int, int, int]:
    """(rows, cols, entries) from the size line after the comments, before anything is read."""
    for raw in fh:
        line = raw.strip()
        if not line or line.startswith(b"%"):
            continue
        parts = line.split()
        if not all(x.isdigit() for x in parts) or len(parts) not in (2, 3):
            raise SparsimInputError(src, "size line", line[:60].decode(errors="replace"), "'rows cols [entries]'")
        rows, cols = int(parts[0]), int(parts[1])
        entries = int(parts[2]) if len(parts) == 3 else rows * cols
        return rows, cols, entries
    raise SparsimInputError(src, "size line", "", "'rows cols [entries]' after the header and comments")


def read_matrix_market(path: str | Path) -> sp.csr_matrix:
    """A user's Matrix Market file, with one clear error line when it is malformed, too large
    (checked on the size line, before anything is allocated) or holds non-finite values."""
    import scipy.io

    p = Path(path)
    src = str(p)
    if not p.is_file():
        raise SparsimInputError(src, "file", src, "an existing Matrix Market (.mtx) file")
    try:
        with p.open("rb") as fh:
            head = fh.readline()
            if not head.startswith(b"%%MatrixMarket"):
                raise SparsimInputError(
                    src,
                    "header",
                    head[:40].decode(errors="replace").strip(),
                    "a Matrix Market file starts with '%%MatrixMarket matrix ...'",
                )
            rows, cols, entries = _mm_size_line(fh, src)
        for field, v in (("rows", rows), ("columns", cols)):
            if not 1 <= v <= MAX_MATRIX_SIDE:
                raise SparsimInputError(src, field, v, f"from 1 to {MAX_MATRIX_SIDE} (2**26)")
        if entries > MAX_MATRIX_NNZ:
            raise SparsimInputError(src, "entries", entries, f"at most {MAX_MATRIX_NNZ} (2**27) stored entries")
        m = scipy.io.mmread(str(p))
    except SparsimInputError:
        raise
    except Exception as err:
        raise SparsimInputError(
            str(p), "file", p.name, f"malformed Matrix Market ({str(err).splitlines()[0][:80] or type(err).__name__})"
        ) from None
    if not sp.issparse(m):
        m = sp.csr_matrix(m)
    if np.iscomplexobj(m.data):
        raise SparsimInputError(src, "field", "complex", "real or integer matrices only")
    m = m.tocoo()
    data = m.data.astype(np.float64)
    bad = ~np.isfinite(data) | (np.abs(data) > MAX_MATRIX_ABS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SparsimInputError(
            src, f"entry ({int(m.row[i]) + 1}, {int(m.col[i]) + 1})", float(data[i]),
            f"a finite number of magnitude at most {MAX_MATRIX_ABS:g} ({int(bad.sum())} such entries)",
        )  # fmt: skip
    return canonical(m)


def _pyamg(name: str) -> sp.csr_matrix:
    import scipy.io

    try:
        import pyamg
    except ImportError:
        raise SparsimInputError("matrix", name, "pyamg not installed", "pip install pyamg") from None
    path = Path(pyamg.__file__).parent / "gallery" / "example_data" / f"{name}.mat"
    a = scipy.io.loadmat(str(path))["A"]
    if np.iscomplexobj(a.data):
        a = a.real
    return canonical(a)


def _propack() -> sp.csr_matrix:
    import scipy

    path = Path(scipy.__file__).parent / "sparse" / "linalg" / "tests" / "propack_test_data.npz"
    with np.load(path, allow_pickle=True) as d:  # scipy's own packaged test data, not user input
        return canonical(d["A_real"].item())


def _minilm(which: str, density: float = 0.10) -> sp.csr_matrix:
    from workloads.weight_stats import load_safetensors, minilm_weights_path

    t = load_safetensors(minilm_weights_path())
    w = t["encoder.layer.0.intermediate.dense.weight"] if which == "in" else t["encoder.layer.0.output.dense.weight"]
    w = w.astype(np.float64)
    thresh = np.quantile(np.abs(w), 1 - density)
    return canonical(np.where(np.abs(w) >= thresh, w, 0.0))


def _relu_resnet18(images: int = 8) -> sp.csr_matrix:
    from workloads.trace_torch import require_torch

    torch = require_torch()
    from sklearn.datasets import load_digits

    from workloads.zoo.cnn import resnet18

    torch.manual_seed(0)
    net = resnet18().eval()
    x = torch.from_numpy(load_digits().images[:images].astype(np.float32) / 16.0)[:, None]
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
    with torch.no_grad():
        act = net.stages[0](net.stem(x))  # post-ReLU output of the first stage
    a = act.permute(0, 2, 3, 1).reshape(-1, act.shape[1]).numpy().astype(np.float64)
    return canonical(a)


def _names() -> dict[str, str]:
    names = {f"rmat{s}": f"R-MAT scale {s}, edge factor 16 (Graph500)" for s in range(8, 21)}
    names.update({f"er{s}": f"Erdos-Renyi, 2^{s} vertices, degree 16" for s in range(8, 21)})
    names.update({k: f"pyamg gallery: {k}" for k in PYAMG})
    names["propack"] = "scipy PROPACK test matrix 1850x712 (illc1850 shape)"
    names["minilm_ffn_in"] = "all-MiniLM-L6-v2 layer-0 FFN-in weight 1536x384, 10% by magnitude"
    names["minilm_ffn_out"] = "all-MiniLM-L6-v2 layer-0 FFN-out weight 384x1536, 10% by magnitude"
    names["relu_resnet18"] = "ResNet-18 stage-1 ReLU activations on 8 real digits images, [B*56*56, 64]"
    return names


MATRICES = _names()


def load_matrix(spec: str, seed: int = 0) -> sp.csr_matrix:
    """A built-in matrix by name (see :data:`MATRICES`) or a Matrix Market file path."""
    if spec in MATRICES:
        if spec.startswith("rmat"):
            return rmat(int(spec[4:]), seed=seed)
        if spec.startswith("er"):
            return erdos_renyi(int(spec[2:]), seed=seed)
        if spec in PYAMG:
            return _pyamg(spec)
        if spec == "propack":
            return _propack()
        if spec == "relu_resnet18":
            return _relu_resnet18()
        return _minilm("in" if spec == "minilm_ffn_in" else "out")
    if os.sep in spec or spec.endswith(".mtx") or Path(spec).exists():
        return read_matrix_market(spec)
    raise SparsimInputError("--matrix", "matrix", spec, "a built-in name (see `sparsim spgemm --list`) or a .mtx file")
