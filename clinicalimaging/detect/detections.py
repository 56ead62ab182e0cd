"""What a detection run returns: one axis-aligned 3-D box per organ, in RAS millimetres."""

import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class OrganBox:
    """One organ found in a volume.

    Attributes
    ----------
    organ : str
        Class name (TotalSegmentator's spelling, e.g. ``"kidney_left"``).
    score : float
        Confidence in [0, 1]: for a calibrated model the estimated probability that the
        box is right (3-D IoU >= 0.5 with the organ's box), else the fused network score.
    ras_min, ras_max : tuple of 3 float
        Opposite corners of the box in RAS (R, A, S) mm, ``ras_min < ras_max`` on every
        axis; the box is aligned with the RAS axes whatever the volume's orientation.
    grade : float or None
        Probability that the organ holds a lesion, from the model's grade head; None
        when the model has none.
    views : tuple of str
        The slice views that found the organ (``"axial"``, ``"coronal"``, ``"sagittal"``).
    grade_experimental : bool
        The grade head never saw a real lesion label (trained on phantom lesions only,
        :func:`.model_scope.grade_is_experimental`): the grade is not to be relied on.
    """

    organ: str
    score: float
    ras_min: tuple
    ras_max: tuple
    grade: Optional[float] = None
    views: tuple = ()
    grade_experimental: bool = False

    @property
    def center(self):
        """Centre (R, A, S) in mm."""
        return tuple((low + high) / 2 for low, high in zip(self.ras_min, self.ras_max))

    @property
    def size(self):
        """Edge lengths (R, A, S) in mm."""
        return tuple(high - low for low, high in zip(self.ras_min, self.ras_max))
