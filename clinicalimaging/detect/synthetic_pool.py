"""A pool of synthetic training cases, a few of them drawn anew after every epoch (numpy and scipy).

Drawing a synthetic volume takes about half a second on a CPU (:mod:`.synthesis`), far
too long to draw one for every training slice; a slice of a volume takes microseconds.
The pool holds ``size`` synthetic cases on the canonical grid, made from the training
label maps in turn (and, every ``shapes_every``-th, a volume of random shapes without
any organ), and replaces ``refresh`` of them after each epoch, so that over a run the
network sees many more anatomies and appearances than the pool holds at once. Every
volume is seeded by (seed, generation, slot): a run is reproducible.
"""

import numpy as np

from .cases import grid_case
from .parameters import VIEWS
from .sampling import training_slices
from .synthesis import random_shapes_volume, synthetic_volume


#: Grid shape ``(K, J, I)`` of random-shape volumes when there is no label map to take it from.
SHAPES_GRID = (64, 96, 96)


class SyntheticPool:
    """Synthetic training cases and their slices.

    Parameters
    ----------
    sources : sequence of SynthesisSource
        Label maps to draw from (:func:`.synthesis.synthesis_source`); may be empty when
        only random shapes are wanted.
    class_names : sequence of str
    pixel_mm : float
    views : sequence of str
    size : int
        Cases held at once.
    refresh : int
        Cases replaced after each epoch.
    shapes_every : int
        Every this-many-th slot holds random shapes (0: never).
    seed : int
    settings : SynthesisSettings, optional
    """

    def __init__(self, sources, class_names, pixel_mm, views, *, size, refresh, shapes_every, seed, settings=None):
        self.sources, self.class_names, self.pixel_mm = list(sources), list(class_names), float(pixel_mm)
        self.views, self.refresh_count, self.shapes_every = tuple(views), int(refresh), int(shapes_every)
        self.seed, self.settings = int(seed), settings
        self.shape = self.sources[0].tissues.shape if self.sources else SHAPES_GRID
        self.cases, self.samples = [], []
        self.next_slot, self.drawn = 0, 0
        for slot in range(size):
            case, samples = self._draw(slot, generation=0)
            self.cases.append(case)
            self.samples.append(samples)

    def _draw(self, slot, generation):
        rng = np.random.default_rng((self.seed, generation, slot))
        if not self.sources or (self.shapes_every and slot % self.shapes_every == self.shapes_every - 1):
            volume = random_shapes_volume(self.shape, self.pixel_mm, rng, self.settings,
                                          name=f"random-shapes-{generation}-{slot}")
        else:
            source = self.sources[slot % len(self.sources)]
            volume = synthetic_volume(source, rng, self.settings,
                                      name=f"{source.volume.name}-synthetic-{generation}-{slot}")
        case = grid_case(volume, self.class_names, self.pixel_mm, modality="ct")
        self.drawn += 1
        samples = [(view, index) for _, view, index in training_slices([case], self.views, rng)]
        if not samples:  # a volume without organs: every fourth slice of each view
            samples = [(view, index) for view in self.views
                       for index in range(0, case.classes.shape[VIEWS.index(view)], 4)]
        return case, samples

    def draw(self, rng):
        """A random ``(case, view, slice index)`` of the pool."""
        slot = int(rng.integers(len(self.cases)))
        view, index = self.samples[slot][int(rng.integers(len(self.samples[slot])))]
        return self.cases[slot], view, index

    def refresh(self, generation):
        """Replace the next ``refresh`` cases (round robin) by new draws of generation ``generation``."""
        for _ in range(min(self.refresh_count, len(self.cases))):
            slot = self.next_slot
            self.cases[slot], self.samples[slot] = self._draw(slot, generation)
            self.next_slot = (slot + 1) % len(self.cases)


#: Seeds of held-apart volumes start here: a training pool never draws them.
HELD_APART_SEED_OFFSET = 1_000_000


def held_apart_volumes(sources, pixel_mm, count, seed, *, shapes_every=4, settings=None):
    """Synthetic volumes that no training pool of the same seed draws, for calibration and checks.

    Parameters
    ----------
    sources : sequence of SynthesisSource
    pixel_mm : float
    count : int
    seed : int
    shapes_every : int
        Every this-many-th volume holds random shapes and no organ.
    settings : SynthesisSettings, optional

    Returns
    -------
    list of LabelledVolume
    """
    volumes = []
    shape = sources[0].tissues.shape if sources else SHAPES_GRID
    for number in range(count):
        rng = np.random.default_rng((seed, HELD_APART_SEED_OFFSET + number))
        if not sources or number % shapes_every == shapes_every - 1:
            volumes.append(random_shapes_volume(shape, pixel_mm, rng, settings, name=f"held-apart-shapes-{number}"))
        else:
            source = sources[number % len(sources)]
            volumes.append(synthetic_volume(source, rng, settings, name=f"held-apart-{source.volume.name}-{number}"))
    return volumes

