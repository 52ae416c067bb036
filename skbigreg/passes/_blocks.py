"""Row passes of the SMR fit: block sums at the current estimate, per worker.

A pass maps each task (a worker's rows) to small statistics: the block sums
and representatives of :mod:`skbigreg.stats._representatives`, built at the
current ``beta``; :func:`representative_pass` merges them with ``+`` through
:func:`skbigreg.parallel.map_reduce`. Every function a worker runs is
module-level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from joblib import effective_n_jobs
from scipy import sparse

from ..parallel import map_reduce
from ..solvers._representatives import build_representatives, representatives_by_rule
from ..stats._representatives import BlockSums, ChunkSums, RepresentativeSets
from ._partitions import BlockCentres, partition_labels

__all__ = [
    "BlockBoxes",
    "BlockSpread",
    "RepresentativeTask",
    "RowTerms",
    "block_sums",
    "inside_domain",
    "memory_tasks",
    "represent_task",
    "representative_pass",
    "summarise_task",
    "with_kept_boxes",
]


def _projection(p):
    # fixed, so that every pass and every node use the same direction
    return np.random.default_rng(20240601).uniform(0.5, 1.5, p)


def _group_boxes(design, weight, groups, n_groups):
    """Coordinate-wise min and max of each group's rows of positive weight.

    NaN for a group without such rows. One unbuffered scatter per column
    (``ufunc.at`` on 1-d data; a transposed copy costs more than the
    strides): no sort and no gather of rows.
    """
    index = np.where(weight > 0, groups, n_groups)  # zero weights: a spare slot
    lo = np.full((design.shape[1], n_groups + 1), np.inf)
    hi = np.full_like(lo, -np.inf)
    for j in range(design.shape[1]):
        np.minimum.at(lo[j], index, design[:, j])
        np.maximum.at(hi[j], index, design[:, j])
    lo, hi = lo[:, :n_groups].T.copy(), hi[:, :n_groups].T.copy()
    empty = lo[:, 0] > hi[:, 0]
    lo[empty] = np.nan
    hi[empty] = np.nan
    return lo, hi


@dataclass(frozen=True)
class BlockBoxes:
    """The bounding box of each block's rows of positive weight (NaN: none).

    It depends on the rows and their blocks only, not on ``beta``: cut once
    per fit, it serves every pass.
    """

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, design, weight, labels, n_blocks):
        return cls(*_group_boxes(design, weight, labels, n_blocks))


@dataclass(frozen=True)
class BlockSpread:
    """Each row's distance ``|z_i - zbar_k|`` to its block's mean, and ``|z_i|``.

    ``z = x'r`` is a fixed random projection: a block's sum of the first is
    zero when its rows share ``x`` (and, almost surely, only then); the
    second is its rounding scale. Neither depends on ``beta``: kept once per
    fit, they serve every pass.
    """

    deviation: np.ndarray
    magnitude: np.ndarray

    @classmethod
    def of(cls, design, weight, labels, n_blocks):
        projection = design @ _projection(design.shape[1])
        with np.errstate(divide="ignore", invalid="ignore"):  # empty blocks
            mean = (np.bincount(labels, weight * projection, n_blocks)
                    / np.bincount(labels, weight, n_blocks))
        return cls(np.abs(projection - mean[labels]), np.abs(projection))


@dataclass(frozen=True)
class RowTerms:
    """What the rows contribute at ``beta``, computed once per pass.

    ``eta = x'beta``, ``mu = h(eta)``, ``nu = h'(eta) / V(mu)``, the working
    score ``e = (y - mu) nu`` and ``deriv = h'(eta)`` (from the same call as
    ``mu``); shared by the block sums and the rows' information.
    """

    eta: np.ndarray
    mu: np.ndarray
    nu: np.ndarray
    e: np.ndarray
    deriv: np.ndarray

    @classmethod
    def at(cls, design, y, beta, family, link):
        eta = design @ beta
        mu, deriv = link.inverse_and_deriv(eta)
        nu = family.nu(link, eta)
        return cls(eta, mu, nu, (y - mu) * nu, deriv)

    def rows(self, index):
        """The terms of the rows ``index`` (a slice)."""
        return RowTerms(self.eta[index], self.mu[index], self.nu[index], self.e[index],
                        self.deriv[index])

    def information(self, design, weight, link=None, out=None):
        """The rows' expected information ``sum w_i nu_i h'(eta_i) x_i x_i'``,
        added into ``out`` when given."""
        # the Fisher weight nu h' of family.fisher_weight, from this pass's eta
        fisher = weight * (self.nu * self.deriv)
        p = design.shape[1]
        information = np.zeros((p, p)) if out is None else out
        # by blocks of rows, so the weighted copy of the design stays in cache
        for start in range(0, design.shape[0], _INFORMATION_ROWS):
            rows = design[start : start + _INFORMATION_ROWS]
            information += (rows * fisher[start : start + _INFORMATION_ROWS, None]).T @ rows
        return information


_INFORMATION_ROWS = 8192
# Rows per slice of a pass (a multiple of _INFORMATION_ROWS, so that the
# information is summed in the same order). Every per-row temporary of a
# slice (~0.5 MiB a column) is freed and reused from the heap: a whole-task
# temporary (8 MiB a column per million rows, 56 MiB for the seven piece
# scalars) comes fresh from the kernel and is page-faulted in on every pass,
# which cost more than the arithmetic.
_PASS_ROWS = 8 * _INFORMATION_ROWS


def block_sums(design, y, weight, labels, n_blocks, beta, family, link, boxes=True,
               terms=None, spread=None):
    """Sums per sign piece: group ``2k + (e_i > 0)`` for block ``k``.

    ``boxes`` is True (gather the blocks' bounding boxes), False (skip them:
    only the ``"hull"`` sign split reads them) or the :class:`BlockBoxes`
    of these rows and labels, gathered once for every pass. ``terms`` are
    the rows' :class:`RowTerms` at ``beta``, and ``spread`` their
    :class:`BlockSpread`, when the caller has them.

    With ``beta=None`` (the mean pass) every row goes to piece ``2k`` and
    the score sums are zero. The rows are summed in slices of
    ``_PASS_ROWS``; in each, every sum is a product with one sparse
    (pieces x rows) indicator in CSC form: one entry per row, built without
    sorting, applied to all columns at once.
    """
    return _pass_sums(design, y, weight, labels, n_blocks, beta, family, link, boxes,
                      terms, spread)[0]


def _pass_sums(design, y, weight, labels, n_blocks, beta, family, link, boxes=True,
               terms=None, spread=None, information=False):
    """:func:`block_sums`, and with ``information`` the rows' information at
    ``beta`` (from the same slices' :class:`RowTerms`)."""
    n, p = design.shape
    if spread is None:
        spread = BlockSpread.of(design, weight, labels, n_blocks)
    pieces = 2 * n_blocks
    scalars = np.zeros((pieces, _N_SCALARS))
    x_sum, score, x_abs = np.zeros((pieces, p)), np.zeros((pieces, p)), np.zeros(pieces)
    total_information = np.zeros((p, p)) if information else None
    for start in range(0, n, _PASS_ROWS):
        rows = slice(start, start + _PASS_ROWS)
        part = None
        if beta is not None:
            part = (RowTerms.at(design[rows], y[rows], beta, family, link) if terms is None
                    else terms.rows(rows))
        _add_slice_sums(design[rows], y[rows], weight[rows], labels[rows], pieces, part,
                        family, spread.deviation[rows], spread.magnitude[rows],
                        (scalars, x_sum, score, x_abs))
        if information:
            part.information(design[rows], weight[rows], out=total_information)
    if beta is None:
        scalars[:, 3] = np.nan
    if boxes is True:
        boxes = BlockBoxes.of(design, weight, labels, n_blocks)
    # both sign pieces carry their block's box: only the block's is read
    x_min, x_max = ((np.repeat(boxes.lo, 2, axis=0), np.repeat(boxes.hi, 2, axis=0))
                    if boxes else (None, None))
    sums = BlockSums(
        weight=scalars[:, 0],
        y_sum=scalars[:, 1],
        x_sum=x_sum,
        score=score,
        score_eta=scalars[:, 2],
        pearson=scalars[:, 3],
        abs_score=scalars[:, 4],
        abs_scale=scalars[:, 5],
        spread=scalars[:, 6],
        x_abs=x_abs,
        x_min=x_min,
        x_max=x_max,
    )
    return sums, total_information


# the per-row scalars summed per piece: 1, y, e eta, (y - mu)^2 / V(mu), |e|,
# (|y| + |mu|) |nu| and the spread's deviation
_N_SCALARS = 7


def _add_slice_sums(design, y, weight, labels, pieces, terms, family, deviation, magnitude,
                    totals):
    """Add one slice's per-piece sums into ``totals`` (scalars, x_sum, score, x_abs)."""
    n = design.shape[0]
    scalars = np.empty((n, _N_SCALARS))
    scalars[:, 0] = 1.0
    scalars[:, 1] = y
    if terms is None:
        scalars[:, 2:6] = 0.0
        groups = 2 * labels
    else:
        eta, mu, nu, e = terms.eta, terms.mu, terms.nu, terms.e
        np.multiply(e, eta, out=scalars[:, 2])
        with np.errstate(divide="ignore", invalid="ignore"):  # mu on the boundary
            np.subtract(y, mu, out=scalars[:, 3])
            np.square(scalars[:, 3], out=scalars[:, 3])
            scalars[:, 3] /= family.variance(mu)
        np.abs(e, out=scalars[:, 4])
        np.add(np.abs(y), np.abs(mu), out=scalars[:, 5])
        scalars[:, 5] *= np.abs(nu)
        groups = 2 * labels + (e > 0)
    scalars[:, 6] = deviation
    columns = np.arange(n + 1)
    indicator = sparse.csc_array((weight, groups, columns), shape=(pieces, n))
    total_scalars, x_sum, score, x_abs = totals
    total_scalars += indicator @ scalars
    x_sum += indicator @ design
    x_abs += indicator @ magnitude
    if terms is not None:
        # the same indicator carrying w_i e_i: no rows-by-p temporary
        score += sparse.csc_array((weight * terms.e, groups, columns), shape=(pieces, n)) @ design


@dataclass(frozen=True)
class RepresentativeTask:
    """Rows one worker turns into representatives.

    ``labels`` are the rows' block labels when the blocks were cut by the
    caller (in-memory data); otherwise the worker cuts ``X`` with the spec,
    inside the natural ``partitions`` when given (streamed chunks), or
    assigns each row to the nearest of the chunk's kept k-means ``centres``
    (:class:`~skbigreg.passes._partitions.BlockCentres`, from the first pass).
    ``boxes`` and ``spread`` are the blocks' :class:`BlockBoxes` and the
    rows' :class:`BlockSpread` when gathered once for all passes (with
    ``labels``).
    """

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    source: int
    labels: np.ndarray | None = None
    partitions: np.ndarray | None = None
    centres: BlockCentres | None = None
    boxes: BlockBoxes | None = None
    spread: BlockSpread | None = None


def _task_labels(task, spec):
    if task.labels is not None:
        return task.labels
    if task.centres is not None:
        return task.centres.labels(task.X, task.partitions)
    return partition_labels(task.X, spec, task.weight, task.partitions)


def with_kept_boxes(task, spec, fit_intercept, kept):
    """``task`` carrying its blocks' bounding boxes, kept in ``kept`` by its source.

    A streamed chunk's boxes depend only on its rows and blocks: they are
    gathered on the first pass (with the chunk's block labels, which the
    task then carries) and reused by later passes, ``2 K p`` numbers per
    chunk. The rows' spread is not kept (it is a number per row); it costs
    one product per pass.
    """
    if task.source not in kept:
        labels = _task_labels(task, spec)
        n_blocks = int(labels.max()) + 1 if labels.size else 0
        kept[task.source] = BlockBoxes.of(_design(task.X, fit_intercept), task.weight, labels,
                                          n_blocks)
        task = replace(task, labels=labels)
    return replace(task, boxes=kept[task.source])


def represent_task(task, beta, family, link, spec, fit_intercept, information=True,
                   sign_split="hull"):
    """Module-level worker: block labels, block sums and representatives of one task.

    With ``information`` (and a ``beta``), also the rows' expected
    information at ``beta`` (p x p), for standard errors. Under
    ``sign_split="auto"`` (with a ``beta``), both rules' representatives
    with the rows' information (:class:`RepresentativeSets`).
    """
    both = sign_split == "auto" and beta is not None
    want_information = information or both
    labels = _task_labels(task, spec)
    design = _design(task.X, fit_intercept)
    n_blocks = int(labels.max()) + 1 if labels.size else 0
    hull = beta is not None and sign_split in ("hull", "auto")
    boxes = (task.boxes or True) if hull else False  # gathered here unless the task has them
    sums, information = _pass_sums(
        design, task.y, task.weight, labels, n_blocks, beta, family, link, boxes=boxes,
        spread=task.spread, information=beta is not None and want_information,
    )
    rules = ("hull", "no_root") if both else (sign_split,)
    built = ([build_representatives(sums, None, family, link, task.source)] if beta is None
             else representatives_by_rule(sums, beta, family, link, task.source, rules))
    reps = [replace(r, n_rows=int(task.y.size), information=information) for r in built]
    return RepresentativeSets(*reps) if both else reps[0]


def summarise_task(task, beta, family, link, spec, fit_intercept):
    """Module-level worker: a task's :class:`ChunkSums` at ``beta``."""
    labels = _task_labels(task, spec)
    design = _design(task.X, fit_intercept)
    n_blocks = int(labels.max()) + 1 if labels.size else 0
    sums = block_sums(design, task.y, task.weight, labels, n_blocks, beta, family, link)
    eta = design @ beta
    groups = 2 * labels + ((task.y - link.inverse(eta)) * family.nu(link, eta) > 0)
    fisher = task.weight * family.fisher_weight(link, eta)
    p = design.shape[1]
    # per-piece sum of f_i x_i x_i': one sparse product on the rows' outer products
    outer = (design[:, :, None] * design[:, None, :]).reshape(-1, p * p)
    indicator = sparse.csc_array((fisher, groups, np.arange(task.y.size + 1)),
                                 shape=(2 * n_blocks, task.y.size))
    information = (indicator @ outer).reshape(-1, p, p)
    return ChunkSums(sums, information, np.asarray(beta, float), task.source, int(task.y.size))


def _design(X, fit_intercept):
    return np.column_stack([np.ones(X.shape[0]), X]) if fit_intercept else np.asarray(X, float)


def representative_pass(tasks, beta, family, link, spec, fit_intercept, sign_split,
                        n_jobs=None, information=True):
    """Representatives of every task at ``beta`` (None: mean representatives), merged."""
    reps = map_reduce(
        represent_task,
        tasks,
        n_jobs=n_jobs,
        beta=beta,
        family=family,
        link=link,
        spec=spec,
        fit_intercept=fit_intercept,
        information=information,
        sign_split=sign_split,
    )
    return reps.sorted()


def memory_tasks(X, y, weight, labels, n_jobs, source=0, boxes=False):
    """In-memory rows as tasks holding whole blocks (block ``k`` to task ``k mod J``).

    Each task also holds its rows' :class:`BlockSpread` and, with ``boxes``,
    its blocks' bounding boxes, gathered here once instead of on every pass.
    """
    n_tasks = effective_n_jobs(n_jobs)
    if n_tasks == 1:
        tasks = [RepresentativeTask(X, y, weight, source, labels)]
    else:
        group = labels % n_tasks
        masks = [group == j for j in range(n_tasks)]
        tasks = [RepresentativeTask(X[m], y[m], weight[m], source, labels[m])
                 for m in masks if m.any()]
    return [_with_block_constants(t, boxes) for t in tasks]


def _with_block_constants(task, boxes):
    n_blocks = int(task.labels.max()) + 1
    layout = (task.X, task.weight, task.labels, n_blocks)
    return replace(task, spread=BlockSpread.of(*layout),
                   boxes=BlockBoxes.of(*layout) if boxes else None)


def inside_domain(target, coef, task, link, fit_intercept):
    """The step from ``coef`` to ``target``, halved until the task's eta is valid."""
    design = _design(task.X, fit_intercept)
    for _ in range(30):
        if link.valid_eta(design @ target):
            return target
        target = (coef + target) / 2
    return coef
