"""The plot of :class:`skmlp.LayerMonitor`, shown as
:func:`skmlp.plotting.plot_layer_monitor`."""

import numpy as np

# The panels of plot_layer_monitor: key of the epoch's record, y label,
# title, log scale.
_MONITOR_PANELS = (
    ("weight_norm", "||W[l]||", "Weight norm", True),
    ("grad_norm", "||dC/dW[l]|| on the probe batch", "Gradient norm", True),
    ("update_ratio", "||W_e - W_(e-1)|| / ||W_(e-1)||", "Update / weight", True),
    ("dead_share", "Share of units dead on the probe", "Dead ReLU units", False),
)


def plot_layer_monitor(monitor, axes=None, *, fit=-1):
    """Plot a :class:`~skmlp.LayerMonitor`'s four quantities over the epochs.

    One line per layer in each panel: the weight norm, the gradient norm and
    the update/weight ratio on logarithmic axes (they span decades; a value
    of 0 is not drawn there), the share of dead ReLU units, one line per
    hidden layer, on a linear axis from 0 to 1.

    Parameters
    ----------
    monitor : LayerMonitor
        A monitor that has recorded at least one fit.
    axes : sequence of four matplotlib Axes, default=None
        Where to draw the four panels, in the order above; None creates a
        2 x 2 figure.
    fit : int, default=-1
        Which of ``monitor.histories_`` to draw: the most recent fit by
        default (in a grid search, pick one by its ``task_path`` or
        ``params``).

    Returns
    -------
    axes : ndarray of four matplotlib Axes
        The weight-norm, gradient-norm, update-ratio and dead-share Axes.
    """
    histories = getattr(monitor, "histories_", None)
    if not histories:
        raise ValueError(
            "plot_layer_monitor needs a LayerMonitor that has recorded a fit; "
            f"got {type(monitor).__name__} with no histories_. Set it with "
            "set_callbacks(...) and fit first."
        )
    epochs = histories[fit].epochs
    if not epochs:
        raise ValueError(f"Fit {fit} of the monitor completed no epoch: nothing "
                         "to plot.")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.shape != (4,):
        raise ValueError(f"axes must hold four Axes; got {axes.size}.")
    x = [entry["epoch"] for entry in epochs]
    for ax, (key, ylabel, title, log) in zip(axes, _MONITOR_PANELS):
        values = np.array([entry[key] for entry in epochs], dtype=float)
        for layer in range(values.shape[1]):
            ax.plot(x, values[:, layer], marker=".", label=f"layer {layer + 1}")
        ax.set(xlabel="Epoch", ylabel=ylabel, title=title)
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.02, 1.02)
        if values.shape[1]:
            ax.legend(fontsize="small")
        ax.grid(True, alpha=0.4)
        ax.xaxis.get_major_locator().set_params(integer=True)
    return axes
