"""Solvers: pure functions from statistics to estimates (they never see rows)."""

from ._least_squares import LeastSquaresSolution, solve_least_squares

__all__ = ["LeastSquaresSolution", "solve_least_squares"]

from ._coordinate_descent import (  # noqa: E402
    ElasticNetPath,
    GramProblem,
    alpha_grid,
    enet_path_gram,
    gram_problems,
)
from ._ridge import RidgePath, RidgeSystem, ridge_path, ridge_system, solve_ridge  # noqa: E402

__all__ += [
    "ElasticNetPath",
    "GramProblem",
    "RidgePath",
    "RidgeSystem",
    "alpha_grid",
    "enet_path_gram",
    "gram_problems",
    "ridge_path",
    "ridge_system",
    "solve_ridge",
]

from ._alternating import (  # noqa: E402
    EffectsProblem,
    EffectsState,
    conjugate_step,
    effects_converged,
    normalised_effects,
    start_effects,
)
from ._fixed_effects import within_comoment  # noqa: E402
from ._grouped_least_squares import (  # noqa: E402
    StackedMoments,
    StackedSolution,
    combine_groups,
    solve_stacked,
)
from ._irls_streamed import (  # noqa: E402
    ScoringSettings,
    ScoringState,
    ScoringStep,
    identified_columns,
    scoring_step,
)
from ._iv import IVColumns, IVSolution, solve_iv  # noqa: E402
from ._nodewise import NodewiseRows, approx_inv_cov, nodewise_lasso  # noqa: E402
from ._one_shot import (  # noqa: E402
    OneShotFit,
    OneShotSettings,
    PartitionResult,
    check_partition_results,
    combine_partitions,
    split_columns,
)

__all__ += [
    "EffectsProblem",
    "EffectsState",
    "conjugate_step",
    "effects_converged",
    "normalised_effects",
    "start_effects",
    "IVColumns",
    "IVSolution",
    "NodewiseRows",
    "OneShotFit",
    "OneShotSettings",
    "PartitionResult",
    "ScoringSettings",
    "ScoringState",
    "ScoringStep",
    "StackedMoments",
    "StackedSolution",
    "approx_inv_cov",
    "check_partition_results",
    "combine_groups",
    "combine_partitions",
    "nodewise_lasso",
    "identified_columns",
    "scoring_step",
    "solve_iv",
    "solve_stacked",
    "split_columns",
    "within_comoment",
]
