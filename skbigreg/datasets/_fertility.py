"""A simulated census of mothers in the shape of the row-wise paper's Table 1, as parquet.

The paper (fertility and mothers' labour supply, Aaronson et al. 2020 design)
has 51 million rows in 434 country x year cells; OLS and IV (twins at the
second birth instrument a third child) with the cells as fixed effects. The
data are written cell block by cell block, so memory is one block whatever the
number of rows.
"""

from __future__ import annotations

import os

import numpy as np

FERTILITY_COLUMNS = ["participation", "fertility", "twin", "age", "age_first_birth",
                     "first_boy", "cell"]

# Rows generated together (one seed each); a file holds many blocks.
_BLOCK_ROWS = 8_192


def make_fertility_parquet(path, n_rows=1_000_000, n_cells=434, *, rows_per_file=2_000_000,
                           sort_by_cell=False, random_state=0):
    """Write a simulated census of mothers (the paper's Table 1 design) to parquet files.

    Each row is a mother aged 21-35 with at least two children, in one of
    ``n_cells`` country x year cells ``c`` with effect ``a_c``:

    - ``twin``: twins at the second birth (probability 0.0105, as in the paper);
    - ``fertility``: a third child, ``1`` after twins, else
      ``1[0.3 a_c + 0.05 (age - 29) - 0.03 (age_first_birth - 21) + u > 0]``;
    - ``participation``: ``1[0.3 a_c - 0.15 fertility + 0.01 (age - 29)
      + 0.01 (age_first_birth - 21) + 0.02 first_boy + 0.5 u + e > 0.65]``,
      where the shared ``u`` makes fertility endogenous and the twin
      instrument identifies its effect;
    - ``age`` (21-35), ``age_first_birth`` (15 to ``age - 2``),
      ``first_boy`` (the first child a boy, probability 0.512), and ``cell``
      (0 to ``n_cells - 1``, int64).

    Cell sizes are drawn once (lognormal shares, as census files vary) and
    rows are generated in blocks of one cell, each block from its own seed,
    so memory is one file's rows whatever ``n_rows`` is, and the sorted and
    unsorted writings hold the same rows.

    Parameters
    ----------
    path : str or path-like
        Folder to write ``part-00000.parquet``, ``part-00001.parquet``, ...
        into (created if missing).
    n_rows : int, default=1_000_000
        Total rows (the paper: 51,449,770).
    n_cells : int, default=434
        Country x year cells (the paper: 434).
    rows_per_file : int, default=2_000_000
        Rows per parquet file (bounds the memory of the writer).
    sort_by_cell : bool, default=False
        Write the rows ordered by cell (the paper's "sorted" rows); else the
        blocks are spread over the files at random and each file's rows are
        shuffled, so every file mixes many cells.
    random_state : int, default=0

    Returns
    -------
    list of str
        The files written, in order.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from skbigreg.datasets import make_fertility_parquet
    >>> files = make_fertility_parquet(tempfile.mkdtemp(), n_rows=20_000, n_cells=10,
    ...                                rows_per_file=8_000)
    >>> len(files)
    3
    >>> frame = pd.read_parquet(files[0])
    >>> list(frame.columns)
    ['participation', 'fertility', 'twin', 'age', 'age_first_birth', 'first_boy', 'cell']
    >>> sum(len(pd.read_parquet(f)) for f in files)
    20000
    """
    n_rows, n_cells, rows_per_file = int(n_rows), int(n_cells), int(rows_per_file)
    if n_cells < 1 or n_rows < n_cells or rows_per_file < 1:
        raise ValueError(
            f"Need n_cells >= 1, n_rows >= n_cells and rows_per_file >= 1; got n_rows="
            f"{n_rows}, n_cells={n_cells}, rows_per_file={rows_per_file}.")
    os.makedirs(path, exist_ok=True)
    blocks, effects = _cell_blocks(n_rows, n_cells, random_state)
    rng = np.random.default_rng([random_state, 1])
    if not sort_by_cell:
        blocks = blocks[rng.permutation(len(blocks))]
    files = []
    for index, file_blocks in enumerate(_split_by_rows(blocks, rows_per_file)):
        columns = _merge_blocks([_block_rows(cell, number, rows, effects[cell], random_state)
                                 for cell, number, rows in file_blocks])
        if not sort_by_cell:
            order = np.random.default_rng([random_state, 2, index]).permutation(len(columns["cell"]))
            columns = {name: values[order] for name, values in columns.items()}
        files.append(_write_parquet(os.path.join(path, f"part-{index:05d}.parquet"), columns))
    return files


def _cell_blocks(n_rows, n_cells, seed):
    """Rows per cell (each >= 1) cut in blocks: an array of (cell, block number, rows)."""
    rng = np.random.default_rng([seed, 0])
    shares = rng.lognormal(sigma=1.0, size=n_cells)
    sizes = 1 + rng.multinomial(n_rows - n_cells, shares / shares.sum())
    effects = rng.normal(size=n_cells)
    blocks = [(cell, number, min(_BLOCK_ROWS, size - start))
              for cell, size in enumerate(sizes)
              for number, start in enumerate(range(0, size, _BLOCK_ROWS))]
    return np.array(blocks, dtype=np.int64), effects


def _split_by_rows(blocks, rows_per_file):
    """Consecutive groups of blocks of about ``rows_per_file`` rows each."""
    ends = np.cumsum(blocks[:, 2])
    file_of_block = (ends - 1) // rows_per_file
    cuts = np.flatnonzero(np.diff(file_of_block)) + 1
    return np.split(blocks, cuts)


def _block_rows(cell, number, rows, effect, seed):
    """One block of one cell's mothers, from its own seed (see the model above)."""
    rng = np.random.default_rng([seed, 3, cell, number])
    age = rng.integers(21, 36, rows)
    age_first_birth = 15 + np.floor(rng.random(rows) * (age - 2 - 15 + 1)).astype(np.int64)
    first_boy = (rng.random(rows) < 0.512).astype(np.int64)
    twin = (rng.random(rows) < 0.0105).astype(np.int64)
    u = rng.standard_normal(rows)
    latent = 0.3 * effect + 0.05 * (age - 29) - 0.03 * (age_first_birth - 21) + u
    fertility = np.where(twin == 1, 1, (latent > 0).astype(np.int64))
    index = (0.3 * effect - 0.15 * fertility + 0.01 * (age - 29) + 0.01 * (age_first_birth - 21)
             + 0.02 * first_boy + 0.5 * u + rng.standard_normal(rows))
    return {"participation": (index > 0.65).astype(np.float64),
            "fertility": fertility.astype(np.float64), "twin": twin.astype(np.float64),
            "age": age.astype(np.float64), "age_first_birth": age_first_birth.astype(np.float64),
            "first_boy": first_boy.astype(np.float64),
            "cell": np.full(rows, cell, dtype=np.int64)}


def _merge_blocks(blocks):
    return {name: np.concatenate([block[name] for block in blocks]) for name in FERTILITY_COLUMNS}


def _write_parquet(file, columns):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), file)
    return file
