"""Parameters of the lesion segmentation from outline points."""

import dataclasses
from typing import ClassVar

from ..parameters import Parameters, parameter


@dataclasses.dataclass(frozen=True)
class SegmentParameters(Parameters):
    """Everything that controls :func:`clinicalimaging.segment.segment_lesion`.

    Pixel-valued parameters keep the paper's units (its 20-pixel padding of the
    region of interest and 5-pixel disk); everything else is in mm. The ROI's
    padding was called its "margin" before; the old names are still read.
    """

    RENAMED: ClassVar[dict] = {"margin_px": "roi_padding_px", "margin_z_mm": "roi_padding_z_mm"}

    roi_padding_px: int = parameter(20, unit="px", minimum=0, maximum=200,
                                    help="In-plane padding of the region of interest around the outline points' "
                                         "bounding rectangle (the paper's 20 pixels).")
    roi_padding_z_mm: float = parameter(5.0, unit="mm", minimum=0.0, maximum=100.0,
                                        help="Padding of the region of interest along the slice axis beyond the "
                                             "outlined slices (at least the outline's in-plane extent: a lesion is "
                                             "about as tall as wide).")
    disk_radius_px: int = parameter(5, unit="px", minimum=0, maximum=20,
                                    help="Radius of the disk for opening, closing and hole filling of the "
                                         "lesion mask (the paper's 5 pixels).")
    rough_model: str = parameter("auto", choices=("auto", "threshold", "region"),
                                 help="Speed of the rough level set: 'threshold', the outline's intensity range "
                                      "(mean +- 2.5 sd, capped towards the surroundings); 'region', the "
                                      "log-likelihood ratio of intensity histograms learnt inside the outline and "
                                      "in a ring around it (structures of several tissues); 'auto', threshold "
                                      "when its range holds 75 % of the outline's voxels, else region.")
    through_plane_slope: float = parameter(1.5, minimum=0.0, maximum=20.0,
                                           help="Through-plane discipline of the rough step: beyond the outlined "
                                                "slices a slice keeps only the parts of its region that overlap the "
                                                "slice before, grown by at most this times the slice spacing "
                                                "in-plane; 0 switches the rule off.")
    background_competition: bool = parameter(True,
                                             help="Seeded competition of the rough step: a voxel stays in the rough "
                                                  "result only if the outline reaches it more cheaply (smaller "
                                                  "intensity steps on the way) than a background shell 4-7 px "
                                                  "outside the outline does; stops leaks into touching neighbours "
                                                  "of the same intensity.")
    level_set_iterations: int = parameter(600, minimum=1, maximum=5000,
                                          help="Most iterations of the threshold level set (rough segmentation); "
                                               "a lesion far above or below the outline needs many.")
    level_set_curvature: float = parameter(0.05, minimum=0.0, maximum=5.0,
                                           help="Weight of the level set's curvature (smoothness) term; the "
                                                "propagation weight is 1, its speed in standard deviations of "
                                                "the lesion's intensity.")
    level_set_threshold_cap: float = parameter(0.75, minimum=0.05, maximum=1.0,
                                               help="How far (fraction) from the lesion's mean towards the "
                                                    "surrounding tissue the level set's intensity range may reach.")
    band_mm: float = parameter(2.0, unit="mm", minimum=0.5, maximum=20.0,
                               help="Half-width of the uncertain band around the rough surface that the "
                                    "self-paced SVM re-classifies (at most half the rough lesion's depth).")
    background_shell_mm: float = parameter(6.0, unit="mm", minimum=1.0, maximum=50.0,
                                           help="Thickness of the shell outside the band down to which the SVM "
                                                "learns from the rough result (labels: lesion inside its surface, "
                                                "background outside).")
    surface_prior: float = parameter(1.0, minimum=0.0, maximum=10.0,
                                     help="Weight of the level set's signed distance (in band half-widths) added "
                                          "to the SVM margin in the band: 0 lets the SVM alone decide there.")
    training_voxels: int = parameter(5000, minimum=200, maximum=1000000,
                                     help="Training voxels per class at most (a seeded class-balanced sample).")
    classifier: str = parameter("self-paced", choices=("self-paced", "svm"),
                                help="'self-paced': the self-paced SVM of the paper; 'svm': the same SVM "
                                     "trained on all samples at once.")
    top_features: int = parameter(0, minimum=0, maximum=61,
                                  help="Keep only the k most important features (permutation importance on "
                                       "held-out training voxels) and refit the classifier on them; 0 = all.")
    cleanup_radius_mm: float = parameter(0.5, unit="mm", minimum=0.0, maximum=10.0,
                                         help="Radius of the final morphological opening and closing.")
    seed: int = parameter(0, minimum=0, maximum=2**31 - 1,
                          help="Seed of every random choice (sampling, kernel approximation).")

