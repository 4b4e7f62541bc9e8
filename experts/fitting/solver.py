"""Per-sample L-BFGS, run for a whole batch at once, and its one-sample-at-a-time reference.

A fitting batch is B independent least-squares problems. :func:`lbfgs_batched` runs B
separate L-BFGS optimisations in lock step: each sample has its own curvature history, step
length and stopping state, and the objective is evaluated for all samples in one call, so
the per-call overhead of a small model is paid once per batch instead of once per sample.
Nothing mixes samples: sample i's trajectory equals what L-BFGS on sample i alone would do
with the same line search (tests/experts/fitting/test_fitting_solver.py checks batch independence).

:func:`lbfgs_per_sample` is the baseline of the benchmark: ``torch.optim.LBFGS`` (strong
Wolfe line search) on one sample at a time, same objective.
"""

from __future__ import annotations

from typing import Protocol

import torch

__all__ = ["Objective", "lbfgs_batched", "lbfgs_per_sample"]

_ARMIJO = 1e-4  # sufficient-decrease constant of the backtracking line search


class Objective(Protocol):
    """B independent losses: ``objective(x)`` maps (B, P) parameters to (B,) losses, where
    loss i depends on row i only; ``take(rows)`` is the objective of those samples alone."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def take(self, rows: torch.Tensor) -> Objective: ...


def _value_and_grad(
    objective: Objective, x: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = objective(x)
        (grad,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), torch.nan_to_num(grad * mask, nan=0.0, posinf=0.0, neginf=0.0)


def _direction(
    grad: torch.Tensor,
    s: torch.Tensor,
    y: torch.Tensor,
    rho: torch.Tensor,
    gamma: torch.Tensor,
    newest: int,
) -> torch.Tensor:
    """L-BFGS two-loop recursion per sample: ``-H grad`` (B, P). Slots with ``rho == 0`` are
    empty and drop out; ``gamma`` (B,) scales the initial inverse Hessian."""
    history = s.shape[1]
    order = [(newest - k) % history for k in range(history)]
    q = grad.clone()
    alphas = []
    for slot in order:
        alpha = rho[:, slot] * (s[:, slot] * q).sum(-1)
        q = q - alpha[:, None] * y[:, slot]
        alphas.append(alpha)
    r = gamma[:, None] * q
    for slot, alpha in zip(reversed(order), reversed(alphas), strict=True):
        beta = rho[:, slot] * (y[:, slot] * r).sum(-1)
        r = r + (alpha - beta)[:, None] * s[:, slot]
    return -r


def _line_search(
    objective: Objective,
    x: torch.Tensor,
    loss: torch.Tensor,
    direction: torch.Tensor,
    slope: torch.Tensor,
    step: torch.Tensor,
    mask: torch.Tensor,
    max_backtracks: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backtracking (Armijo) line search per sample; only failing samples are re-evaluated.

    Returns:
        accepted (A,) bool, step (A,), and loss (A,) and gradient (A, P) at the new points.
    """
    new_loss, new_grad = _value_and_grad(objective, x + step[:, None] * direction, mask)
    ok = new_loss <= loss + _ARMIJO * step * slope
    moved = torch.zeros_like(ok)
    for _ in range(max_backtracks):
        failing = torch.nonzero(~ok).squeeze(1)
        if failing.numel() == 0:
            break
        step = step.index_fill(0, failing, 0.0) + 0.5 * step * (~ok)
        trial = x[failing] + step[failing, None] * direction[failing]
        with torch.no_grad():
            tried = objective.take(failing)(trial)
        passed = tried <= loss[failing] + _ARMIJO * step[failing] * slope[failing]
        ok = ok.index_put((failing,), passed)
        moved = moved.index_put((failing,), passed)
    redo = torch.nonzero(moved).squeeze(1)
    if redo.numel():
        trial = x[redo] + step[redo, None] * direction[redo]
        redo_loss, redo_grad = _value_and_grad(objective.take(redo), trial, mask)
        new_loss = new_loss.index_put((redo,), redo_loss)
        new_grad = new_grad.index_put((redo,), redo_grad)
    return ok, step, new_loss, new_grad


def lbfgs_batched(
    objective: Objective,
    x0: torch.Tensor,
    free: torch.Tensor | None = None,
    iterations: int = 50,
    history: int = 10,
    max_backtracks: int = 10,
    tolerance: float = 1e-7,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise B independent losses with L-BFGS, all samples in lock step.

    Samples that have stopped drop out of the evaluated batch, so a batch costs what its
    slowest samples need, not B times that.

    Args:
        objective: the B losses (see :class:`Objective`).
        x0: (B, P) start.
        free: (P,) bool, the parameters that may change (default all).
        iterations: the most L-BFGS iterations per sample.
        history: curvature pairs kept per sample.
        max_backtracks: step halvings tried before a sample's line search gives up (that
            sample then stops where it is).
        tolerance: a sample stops when an iteration lowers its loss by less than
            ``tolerance * max(1, |loss|)``.

    Returns:
        x (B, P) and its losses (B,). A sample's loss never increases.
    """
    x = x0.detach().clone()
    batch, size = x.shape
    ones = torch.ones(size, dtype=x.dtype, device=x.device)
    mask = ones if free is None else free.to(device=x.device, dtype=x.dtype)
    loss, grad = _value_and_grad(objective, x, mask)
    s = x.new_zeros(batch, history, size)
    y = x.new_zeros(batch, history, size)
    rho = x.new_zeros(batch, history)
    gamma = x.new_ones(batch)
    have_pair = torch.zeros(batch, dtype=torch.bool, device=x.device)
    done = ~torch.isfinite(loss)
    active = torch.arange(batch, device=x.device)
    sub: Objective = objective
    for it in range(iterations):
        still = torch.nonzero(~done).squeeze(1)
        if still.numel() == 0:
            break
        if still.numel() != active.numel():
            active, sub = still, objective.take(still)
        g, f, xa = grad[active], loss[active], x[active]
        direction = _direction(
            g, s[active], y[active], rho[active], gamma[active], (it - 1) % history
        )
        slope = (g * direction).sum(-1)
        uphill = ~(slope < 0)
        direction = torch.where(uphill[:, None], -g, direction)
        slope = torch.where(uphill, -(g * g).sum(-1), slope)
        # Without curvature information the first step is scaled as torch.optim.LBFGS does.
        first = torch.clamp(1.0 / g.abs().sum(-1).clamp_min(1e-30), max=1.0)
        step = torch.where(have_pair[active] & ~uphill, torch.ones_like(first), first)
        ok, step, new_loss, new_grad = _line_search(
            sub, xa, f, direction, slope, step, mask, max_backtracks
        )
        improved = ok & (new_loss <= f)
        ds = torch.where(improved[:, None], step[:, None] * direction, torch.zeros_like(xa))
        x_new = xa + ds
        loss_new = torch.where(improved, new_loss, f)
        grad_new = torch.where(improved[:, None], new_grad, g)
        dg = grad_new - g
        curvature = (ds * dg).sum(-1)
        yy = (dg * dg).sum(-1).clamp_min(1e-30)
        keep = improved & (curvature > 1e-10 * yy)
        slot = it % history
        s[active, slot] = torch.where(keep[:, None], ds, torch.zeros_like(ds))
        y[active, slot] = torch.where(keep[:, None], dg, torch.zeros_like(dg))
        rho[active, slot] = torch.where(keep, 1.0 / curvature.clamp_min(1e-30), 0.0)
        gamma[active] = torch.where(keep, curvature / yy, gamma[active])
        have_pair[active] = have_pair[active] | keep
        small = (f - loss_new) <= tolerance * f.abs().clamp_min(1.0)
        done[active] = ~improved | small
        x[active], loss[active], grad[active] = x_new, loss_new, grad_new
    return x, loss


def lbfgs_per_sample(
    objective: Objective,
    x0: torch.Tensor,
    free: torch.Tensor | None = None,
    iterations: int = 50,
    history: int = 10,
    tolerance: float = 1e-7,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Baseline: ``torch.optim.LBFGS`` with strong-Wolfe line search, one sample at a time.

    Same arguments and returns as :func:`lbfgs_batched` (``tolerance`` is the optimizer's
    ``tolerance_change``).
    """
    mask = None if free is None else free.to(x0.dtype)
    xs, losses = [], []
    for row in range(x0.shape[0]):
        single = objective.take(torch.tensor([row]))
        x = x0[row : row + 1].detach().clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS(
            [x],
            lr=1.0,
            max_iter=iterations,
            history_size=history,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-9,
            tolerance_change=tolerance,
        )

        def closure(
            x: torch.Tensor = x, single: Objective = single, optimizer=optimizer
        ) -> torch.Tensor:
            optimizer.zero_grad()
            loss = single(x).sum()
            loss.backward()
            if mask is not None:
                x.grad.mul_(mask)
            return loss

        with torch.enable_grad():
            optimizer.step(closure)
        with torch.no_grad():
            losses.append(single(x).detach())
        xs.append(x.detach())
    return torch.cat(xs), torch.cat(losses)
