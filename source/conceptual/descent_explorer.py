"""The gradient-descent explorer of question 3: your `gradient_descent` on Figure 1's surface.

    explorer = build_explorer(gradient_descent)
    display(explorer.widget)

Sliders pick the learning rate (log scale), the start point and the number of steps; the
picture shows the contour map with the descent path and the loss at every step, and a status
line says in words how the run ended. The explorer calls *your* `gradient_descent(grad_fn, w0,
lr, n_steps)`; until you have written it, the status line says so.

The picture is drawn by matplotlib off screen (Agg) and sent to the browser as a PNG, so a
redraw is a few tens of milliseconds and never comes back half drawn. `static_view` draws the
same picture without widgets, for copies of the notebook that are read without a running kernel.
You do not need to read this file to answer the questions.
"""
import html
import io
import time
import warnings

import numpy as np

from loss_surface import (BOX, FLAT_START, GLOBAL_MIN, GLOBAL_MIN_LOSS, LOCAL_MIN, grid, loss,
                          loss_grad)

# What the status line starts with, one per way a run can end.
GLOBAL = "Reached the global minimum"
LOCAL = "Stopped in a local minimum"
STUCK = "Stuck on the flat region"
DIVERGED = "Diverged"
MOVING = "Still on the way"
NOT_WRITTEN = "Write gradient_descent first"
BROKEN = "gradient_descent did not work"

DEFAULTS = {"lr": 0.3, "start": (0.0, 0.2), "n_steps": 50}
AT_MINIMUM = 0.05  # a run ending this close to a minimum has reached it
FAR_AWAY = 50.0  # a run ending this far from the origin (or at inf/nan) has diverged


def _fmt(w):
    return f"({w[0]:.3g}, {w[1]:.3g})"


def classify(trajectory):
    """The status line for a trajectory of shape (n_steps + 1, 2) on Figure 1's surface."""
    final = np.asarray(trajectory, dtype=np.float64)[-1]
    steps = len(trajectory) - 1
    if not np.all(np.isfinite(final)) or np.hypot(*final) > FAR_AWAY:
        return f"{DIVERGED} — after {steps} steps w = {_fmt(final)}, far off the map: the learning rate is too large"
    value = loss(final)
    where = f"w = {_fmt(final)}, loss {value:.4g} after {steps} steps"
    if np.hypot(*(final - GLOBAL_MIN)) < AT_MINIMUM:
        return f"{GLOBAL} — {where}"
    if np.hypot(*(final - LOCAL_MIN)) < AT_MINIMUM:
        return f"{LOCAL} — {where}: the gradient is zero here too, yet the global minimum is lower"
    if value == 0.0 and np.all(loss_grad(final) == 0.0):
        return f"{STUCK} — {where}: the gradient is exactly zero, every step is lr × 0 = 0, the weights never move again"
    slope = float(np.hypot(*loss_grad(final)))
    if abs(value) < 1e-6 and slope < 1e-4 and steps >= 5:
        # next to the flat region the bumps flatten out faster than any power: a run whose steps
        # keep getting shorter there is creeping onto it, and more steps never get it out
        lengths = np.hypot(*np.diff(np.asarray(trajectory, dtype=np.float64)[-6:], axis=0).T)
        if np.all(lengths[1:] < 0.99 * lengths[:-1]):  # each step at least 1 % shorter
            return (f"{STUCK} — {where}: not exactly 0 yet, but creeping onto the flat region; each step is "
                    "shorter than the last and the gradient fades to zero there, so more steps will not get it out")
        return (f"{MOVING} — {where}: the gradient here is tiny (|grad| = {slope:.1e}), so descent only "
                "creeps; more steps help very slowly, a larger learning rate faster")
    return f"{MOVING} — {where}: not at a minimum yet; add steps or change the learning rate"


def run_descent(gradient_descent, lr, start, n_steps):
    """Call the student's gradient_descent on Figure 1's gradient; never raises.

    Returns (trajectory of shape (m, 2), status line)."""
    start = np.array(start, dtype=np.float64)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # a diverging run overflows: that is the point
            trajectory = gradient_descent(loss_grad, start.copy(), lr, n_steps)
    except NotImplementedError:
        return start[None, :], (f"{NOT_WRITTEN} (it still raises NotImplementedError): then move a "
                                "slider or run this cell again")
    except Exception as err:  # the explorer must keep working whatever the student's code does
        return start[None, :], f"{BROKEN} — it raised {type(err).__name__}: {err}"
    try:
        trajectory = np.asarray(trajectory, dtype=np.float64)
    except (TypeError, ValueError) as err:
        return start[None, :], f"{BROKEN} — its result is not an array of numbers ({err})"
    if trajectory.shape != (n_steps + 1, 2):
        return start[None, :], (f"{BROKEN} — it returned shape {trajectory.shape}, expected "
                                f"(n_steps + 1, 2) = ({n_steps + 1}, 2)")
    return trajectory, classify(trajectory)


class DescribedPNG(bytes):
    """PNG bytes that carry their description: ``display(Image(data=png))`` shows it as the
    image's alternative text (see ``_alt_for_images``)."""

    def __new__(cls, data, alt):
        self = super().__new__(cls, data)
        self.alt = alt
        return self


def describe_run(trajectory, status, lr, n_steps):
    """The picture in words, for a screen reader: where the path went and the loss per step."""
    trajectory = np.asarray(trajectory, dtype=np.float64)
    start = trajectory[0]
    words = (f"Descent explorer, learning rate {lr:.3g}, {n_steps} steps from w = {_fmt(start)}. "
             f"Left: the descent path on Figure 1's contour map (global minimum at {_fmt(GLOBAL_MIN)}, "
             f"local minimum at {_fmt(LOCAL_MIN)}). ")
    if len(trajectory) > 1:
        finite = np.all(np.isfinite(trajectory), axis=1)
        with np.errstate(all="ignore"):
            losses = np.where(finite, loss(np.where(finite[:, None], trajectory, 0.0)), np.inf)
        words += (f"Right: loss against step, starts at {losses[0]:.3g}, ends at {losses[-1]:.3g} "
                  f"after {len(losses) - 1} steps. ")
    return words + "Status: " + status


def _alt_for_images():
    """In an IPython kernel: an ``IPython.display.Image`` made from ``DescribedPNG`` bytes gets
    their description as its alt text (other images are shown exactly as before)."""
    try:
        from IPython import get_ipython
        from IPython.display import Image
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    formatter = shell.display_formatter.mimebundle_formatter

    def image_bundle(image):
        if image.alt is None and isinstance(image.data, DescribedPNG):
            image.alt = image.data.alt
        return image._repr_mimebundle_()
    formatter.for_type(Image, image_bundle)


_alt_for_images()


class DescentPlot:
    """One persistent off-screen figure: the contour map with the path, and the loss per step.

    Everything but the path, the loss curve and the status line is kept as a bitmap, so a redraw
    puts the bitmap back, draws those three on top and encodes the pixels as a PNG. The loss
    panel's axis limits come from a few fixed choices, and the bitmap is kept for each choice
    seen, so most slider moves never redraw a tick label."""

    def __init__(self, dpi=80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
        self.figure = Figure(figsize=(10, 4.2), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.map_ax, self.loss_ax = self.figure.subplots(1, 2, width_ratios=(1, 1.15))
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.82, wspace=0.25)
        W1, W2, L = grid(101)
        self.map_ax.contourf(W1, W2, L, levels=np.linspace(GLOBAL_MIN_LOSS, L.max(), 25), cmap="viridis")
        self.map_ax.plot(*GLOBAL_MIN, "*", color="white", markersize=12)
        self.map_ax.plot(*LOCAL_MIN, "^", color="orange", markersize=8)
        self.map_ax.plot(*FLAT_START, "s", color="0.85", markersize=5)
        self.path_line, = self.map_ax.plot([], [], "-o", color="red", markersize=2.5, linewidth=1.2)
        self.start_marker, = self.map_ax.plot([], [], "o", color="red", markersize=7, markeredgecolor="white")
        self.map_ax.set(xlim=(-BOX, BOX), ylim=(-BOX, BOX), xlabel="$w_1$", ylabel="$w_2$", aspect="equal",
                        title="descent path on Figure 1's loss")
        self.loss_line, = self.loss_ax.plot([], [], "-", color="tab:blue")
        self.loss_ax.axhline(GLOBAL_MIN_LOSS, color="0.6", linestyle=":", linewidth=1)
        self.loss_ax.set(xlabel="step", ylabel="loss", title="loss per step")
        for axis in (self.loss_ax.xaxis, self.loss_ax.yaxis):
            axis.set_major_locator(MaxNLocator(5))
        self.status_text = self.figure.suptitle("", fontsize=10)
        self._changing = (self.path_line, self.start_marker, self.loss_line, self.status_text)
        for artist in self._changing:
            artist.set_animated(True)  # left out of the full draw: drawn on top by render()
        self._backgrounds = {}  # loss-panel limits -> bitmap of everything that is not animated
        self._limits = None

    def update(self, trajectory, status):
        shown = np.clip(trajectory, -1e3, 1e3)  # inf/huge values would upset the transforms
        self.path_line.set_data(shown[:, 0], shown[:, 1])
        self.start_marker.set_data(shown[:1, 0], shown[:1, 1])
        losses = np.full(len(trajectory), np.inf)
        finite_rows = np.all(np.isfinite(trajectory), axis=1)
        with np.errstate(all="ignore"):
            losses[finite_rows] = loss(trajectory[finite_rows])
        finite = losses[np.isfinite(losses)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        bottom = next((b for b in (-0.1, -0.9, -2.15) if b <= low), low - 0.1)
        top = next((t for t in (0.1, 1.0, 5.0) if t >= high), 5.0)  # larger values are drawn at the top
        steps = len(losses) - 1
        right = next((r for r in (10, 20, 50, 100, 200) if r >= steps), steps)
        self.loss_line.set_data(np.arange(len(losses)), np.clip(losses, bottom, top))
        self._limits = (right, bottom, top)
        lines = [line if len(line) <= 125 else line[:122] + "..." for line in status.split(" — ", 1)]
        self.status_text.set_text("\n".join(lines))

    def render(self):
        """Draw the changing parts over the kept background; returns the canvas."""
        right, bottom, top = self._limits
        self.loss_ax.set(xlim=(0, right), ylim=(bottom, top))  # the loss curve is drawn in these limits
        if self._limits not in self._backgrounds:
            self.canvas.draw()
            if len(self._backgrounds) >= 24:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            self._backgrounds[self._limits] = self.canvas.copy_from_bbox(self.figure.bbox)
        self.canvas.restore_region(self._backgrounds[self._limits])
        for artist in self._changing:
            self.figure.draw_artist(artist)
        return self.canvas

    def png(self):
        from PIL import Image
        rgba = np.asarray(self.render().buffer_rgba())
        buffer = io.BytesIO()
        Image.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


class DescentExplorer:
    """The widget: sliders, a button for the flat start (-2, 2), a status line and the picture.

    Attributes for code and tests: lr_slider, w1_slider, w2_slider, steps_slider, flat_button,
    status (an HTML widget that wraps the escaped text; status_text is the text), image (an Image widget with the PNG), figure,
    map_ax, loss_ax, path_line, loss_line, trajectory, redraw_seconds, widget (the box to display)."""

    def __init__(self, gradient_descent, lr=DEFAULTS["lr"], start=DEFAULTS["start"],
                 n_steps=DEFAULTS["n_steps"]):
        import ipywidgets as W
        self.gradient_descent = gradient_descent
        self.plot = DescentPlot()
        self.figure, self.map_ax, self.loss_ax = self.plot.figure, self.plot.map_ax, self.plot.loss_ax
        self.path_line, self.loss_line = self.plot.path_line, self.plot.loss_line
        style = {"description_width": "initial"}
        self.lr_slider = W.FloatLogSlider(value=lr, base=10, min=-3, max=1, step=0.05, readout_format=".3g",
                                          description="learning rate", style=style)
        self.steps_slider = W.IntSlider(value=n_steps, min=1, max=200, description="steps", style=style)
        self.w1_slider = W.FloatSlider(value=start[0], min=-BOX, max=BOX, step=0.05, description="start w1",
                                       style=style)
        self.w2_slider = W.FloatSlider(value=start[1], min=-BOX, max=BOX, step=0.05, description="start w2",
                                       style=style)
        self.flat_button = W.Button(description="start at (-2, 2)", tooltip="the flat start of question 3(e), exactly")
        # HTML, not a Label: a Label never wraps, and cut the longer lines off at the cell's edge
        self.status = W.HTML(value="")
        self.status.add_class("descent-status")
        self.status_text = ""
        self.image = W.Image(format="png")
        self.widget = W.VBox([W.HBox([self.lr_slider, self.steps_slider]),
                              W.HBox([self.w1_slider, self.w2_slider, self.flat_button]),
                              self.status, self.image])
        self._holding = False
        for slider in (self.lr_slider, self.steps_slider, self.w1_slider, self.w2_slider):
            slider.observe(self._on_change, names="value")
        self.flat_button.on_click(lambda _button: self.set_start(*FLAT_START))
        self.redraw()

    def _on_change(self, _change):
        if not self._holding:
            self.redraw()

    def set_start(self, w1, w2):
        """Move both start sliders, then redraw once."""
        self._holding = True
        try:
            self.w1_slider.value, self.w2_slider.value = float(w1), float(w2)
        finally:
            self._holding = False
        self.redraw()

    def redraw(self):
        started = time.perf_counter()
        start = (self.w1_slider.value, self.w2_slider.value)
        self.trajectory, text = run_descent(self.gradient_descent, self.lr_slider.value, start,
                                            self.steps_slider.value)
        self.plot.update(self.trajectory, text)
        self.image.value = self.plot.png()
        self.status_text = text
        self.status.value = ('<div style="white-space: normal; overflow-wrap: anywhere; line-height: 1.4">'
                             f"{html.escape(text)}</div>")  # a student's error message is text, never markup
        self.description = describe_run(self.trajectory, text, self.lr_slider.value, self.steps_slider.value)
        self.redraw_seconds = time.perf_counter() - started

    def png(self):
        """The current picture as PNG bytes (``DescribedPNG``: they carry ``description``)."""
        return DescribedPNG(self.image.value, self.description)


def build_explorer(gradient_descent, **defaults):
    """The explorer for the given gradient_descent(grad_fn, w0, lr, n_steps) (see DescentExplorer)."""
    return DescentExplorer(gradient_descent, **defaults)


def static_view(gradient_descent, lr=DEFAULTS["lr"], start=DEFAULTS["start"], n_steps=DEFAULTS["n_steps"]):
    """The explorer's picture for one setting, as PNG bytes (``DescribedPNG``, with its
    description as ``.alt``), without widgets."""
    plot = DescentPlot()
    trajectory, status = run_descent(gradient_descent, lr, start, n_steps)
    plot.update(trajectory, status)
    return DescribedPNG(plot.png(), describe_run(trajectory, status, lr, n_steps))
