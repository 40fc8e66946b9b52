"""The strong-Wolfe line search LBFGS uses (after minFunc / torch/optim's lswolfe.lua).

phi(t) = f(x + t d). A bracketing phase grows t (cubic extrapolation, bounded to [t + 0.01 (t - t_prev),
10 t]) until the Armijo condition fails, phi stops decreasing, or the slope turns non-negative; a zoom
phase then shrinks the bracket by safeguarded cubic interpolation until |phi'(t)| <= -c2 phi'(0).
Slopes stay 0-dim tensors of the parameters' dtype (like torch's), so float32 rounding matches.
"""

__all__ = ["strong_wolfe"]


def cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2), clipped to bounds
    (default: the interval between the points); the midpoint when the cubic has no real minimiser."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if not disc >= 0:  # no real minimiser (or NaN)
        return (lo + hi) / 2.0
    d2 = disc.sqrt()
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


class _Point:
    """One evaluated step length: t, phi(t), the full gradient and the slope along d."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _bracket(phi, start, t, f_new, g_new, gtd_new, c1, c2, max_ls):
    """Phase 1. Returns (bracket points, done, evaluations, iterations)."""
    prev = start
    evals, it = 1, 0
    while it < max_ls:
        new = _Point(t, f_new, g_new, gtd_new)
        if f_new > (start.f + c1 * t * start.gtd) or (it > 1 and f_new >= prev.f):
            return [prev, _Point(t, f_new, g_new.clone(), gtd_new)], False, evals, it
        if abs(gtd_new) <= -c2 * start.gtd:
            return [new], True, evals, it
        if gtd_new >= 0:
            return [prev, _Point(t, f_new, g_new.clone(), gtd_new)], False, evals, it
        bounds = (t + 0.01 * (t - prev.t), t * 10)
        t_next = cubic_minimizer(prev.t, prev.f, prev.gtd, t, f_new, gtd_new, bounds=bounds)
        prev = _Point(t, f_new, g_new.clone(), gtd_new)
        t = t_next
        f_new, g_new, gtd_new = phi(t)
        evals += 1
        it += 1
    # out of evaluations: bracket [0, t] (no slopes needed, the zoom loop will not run)
    return [_Point(0, start.f, start.g, None), _Point(t, f_new, g_new, gtd_new)], False, evals, it


def _safeguard(t, lo, hi, insuf_progress):
    """Keep a trial t at least 10% of the bracket away from its ends when progress stalls."""
    eps = 0.1 * (hi - lo)
    if not min(hi - t, t - lo) < eps:
        return t, False
    if not (insuf_progress or t >= hi or t <= lo):
        return t, True
    t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
    return t, False


def _ends(b):
    """(low, high) indices: low has the smaller phi (the first on ties)."""
    return (0, 1) if b[0].f <= b[-1].f else (1, 0)


def _zoom(phi, start, b, done, evals, it, d_norm, c1, c2, tolerance_change, max_ls):
    low, high = _ends(b)
    insuf = False
    while not done and it < max_ls:
        if abs(b[1].t - b[0].t) * d_norm < tolerance_change:
            break
        t = cubic_minimizer(b[0].t, b[0].f, b[0].gtd, b[1].t, b[1].f, b[1].gtd)
        ts = [b[0].t, b[1].t]
        t, insuf = _safeguard(t, min(ts), max(ts), insuf)
        f_new, g_new, gtd_new = phi(t)
        evals += 1
        it += 1
        if f_new > (start.f + c1 * t * start.gtd) or f_new >= b[low].f:
            b[high] = _Point(t, f_new, g_new.clone(), gtd_new)
            low, high = _ends(b)
            continue
        if abs(gtd_new) <= -c2 * start.gtd:
            done = True
        elif gtd_new * (b[high].t - b[low].t) >= 0:
            b[high] = b[low]
        b[low] = _Point(t, f_new, g_new.clone(), gtd_new)
    return b[low], evals


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along d from x (step t first). obj_func(x, t, d) -> (loss float, flat gradient).
    Returns (loss, flat gradient, t, number of evaluations)."""
    d_norm = d.abs().max()

    def phi(step):
        loss, grad = obj_func(x, step, d)
        return loss, grad, grad.dot(d)

    start = _Point(0, f, g.clone(), gtd)
    f_new, g_new, gtd_new = phi(t)
    b, done, evals, it = _bracket(phi, start, t, f_new, g_new, gtd_new, c1, c2, max_ls)
    best, evals = _zoom(phi, start, b, done, evals, it, d_norm, c1, c2, tolerance_change, max_ls)
    return best.f, best.g, best.t, evals
