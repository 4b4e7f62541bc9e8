"""Batched per-sample L-BFGS against its one-sample-at-a-time reference."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from furpe_label.experts.fitting.solver import lbfgs_batched, lbfgs_per_sample


@dataclass(frozen=True)
class Rosenbrock:
    """B scaled Rosenbrock valleys in 4 variables, each with its own minimum ``centre``."""

    centre: torch.Tensor  # (B, 4)
    scale: torch.Tensor  # (B,)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        z = x - self.centre + 1.0
        valley = 10.0 * (z[:, 1::2] - z[:, ::2] ** 2) ** 2 + (1.0 - z[:, ::2]) ** 2
        return self.scale * valley.sum(-1)

    def take(self, rows: torch.Tensor) -> Rosenbrock:
        return replace(self, centre=self.centre[rows], scale=self.scale[rows])


def _problem(batch: int, seed: int = 0) -> tuple[Rosenbrock, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    objective = Rosenbrock(torch.randn(batch, 4, generator=g), 0.5 + torch.rand(batch, generator=g))
    return objective, objective.centre + 0.8 * torch.randn(batch, 4, generator=g)


def test_batched_lbfgs_finds_every_minimum():
    objective, x0 = _problem(16)
    x, loss = lbfgs_batched(objective, x0, iterations=200, tolerance=1e-12)
    assert torch.allclose(x, objective.centre, atol=2e-3)
    assert torch.allclose(loss, objective(x)) and loss.max() < 1e-6


def test_batched_matches_per_sample_reference_quality():
    objective, x0 = _problem(6, seed=1)
    _, batched = lbfgs_batched(objective, x0, iterations=60)
    _, reference = lbfgs_per_sample(objective, x0, iterations=60)
    assert batched.max() < 1e-5 and reference.max() < 1e-5


def test_each_sample_is_independent_of_the_batch():
    objective, x0 = _problem(8, seed=2)
    x_all, loss_all = lbfgs_batched(objective, x0, iterations=25)
    for row in (0, 5):
        rows = torch.tensor([row])
        x_one, loss_one = lbfgs_batched(objective.take(rows), x0[rows], iterations=25)
        assert torch.allclose(x_one[0], x_all[row], atol=1e-6)
        assert torch.allclose(loss_one[0], loss_all[row], rtol=1e-6)


def test_frozen_parameters_stay_and_loss_never_increases():
    objective, x0 = _problem(5, seed=3)
    free = torch.tensor([True, True, False, False])
    x, loss = lbfgs_batched(objective, x0, free=free, iterations=30)
    assert torch.equal(x[:, 2:], x0[:, 2:])
    assert (loss <= objective(x0)).all()


def test_non_finite_start_is_left_alone():
    objective, x0 = _problem(3, seed=4)
    x0[1, 0] = float("nan")
    x, loss = lbfgs_batched(objective, x0, iterations=10)
    assert torch.isnan(loss[1]) and torch.isfinite(loss[[0, 2]]).all()
    assert torch.isfinite(x[[0, 2]]).all()
