"""Question 1's gradient check against the step epsilon (a helper: you need not read it).

A finite-difference gradient has two errors that pull in opposite directions: truncation (the
central difference is exact only as epsilon -> 0; its error shrinks like epsilon^2) and round-off
(f(W + eps) - f(W - eps) cancels almost all digits when eps is tiny, so float64's ~1e-16
relative precision is divided by eps). The relative error is smallest in between.
"""
import os

import numpy as np

from figure_text import describe


def error_against_eps(numerical_gradient, f, W, analytic, eps_values=None):
    """(eps_values, relative errors |a - n| / max(|a|, |n|, tiny)) of ``numerical_gradient(f, W,
    eps)`` against the analytic gradient, for each eps."""
    eps_values = np.logspace(-13, -1, 25) if eps_values is None else np.asarray(eps_values, dtype=float)
    analytic = np.asarray(analytic, dtype=float)
    errors = []
    for eps in eps_values:
        numeric = np.asarray(numerical_gradient(f, np.array(W, dtype=float), eps), dtype=float)
        scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric), 1e-300)
        errors.append(np.linalg.norm(analytic - numeric) / scale)
    return eps_values, np.asarray(errors)


def plot_error_against_eps(eps_values, errors):
    """Log-log plot of the relative error against eps, with the eps^2 and 1/eps trends marked.
    Returns the Figure (its alt text says what it shows, from the numbers). During autograding
    (nbgrader sets NBGRADER_EXECUTION) it draws nothing and returns None: the figure would cost
    every graded notebook about a second, and the numbers are printed beside it anyway."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return None
    import matplotlib.pyplot as plt  # here, not at import: question 1 has no other figure
    errors = np.maximum(np.asarray(errors, dtype=float), 1e-17)
    best = int(np.argmin(errors))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.loglog(eps_values, errors, "o-", color="#3b6ea5", label="your numerical_gradient")
    ax.loglog(eps_values, errors[best] * (eps_values / eps_values[best]) ** 2, ":", color="#888",
              label=r"truncation $\propto \epsilon^2$")
    ax.loglog(eps_values, errors[best] * eps_values[best] / eps_values, "--", color="#888",
              label=r"round-off $\propto 1/\epsilon$")
    ax.axhline(1e-7, color="#a5553b", linewidth=0.8)
    ax.text(eps_values[0], 1.5e-7, "1e-7: the bar a correct gradient clears", color="#a5553b", fontsize=8)
    ax.set_ylim(1e-17, 10)
    ax.set_xlabel(r"step $\epsilon$")
    ax.set_ylabel("relative error")
    ax.set_title("Gradient check: the error against the step")
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    alt = (f"Log-log plot of the relative error between the analytic and the numerical gradient against "
           f"the step epsilon, from {eps_values[0]:.0e} to {eps_values[-1]:.0e}. The error is "
           f"{errors[-1]:.1e} at epsilon {eps_values[-1]:.0e}, falls as epsilon shrinks (truncation) to its "
           f"smallest, {errors[best]:.1e}, at epsilon {eps_values[best]:.0e}, and rises again for smaller "
           f"steps (round-off), to {errors[0]:.1e} at epsilon {eps_values[0]:.0e}.")
    return describe(fig, alt)
