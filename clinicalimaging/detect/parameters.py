"""Parameters of organ detection and of training a detector."""

import dataclasses

from ..parameters import ParameterError, Parameters, parameter

#: The slice views, in the order the network runs them.
VIEWS = ("axial", "coronal", "sagittal")
#: ``views="auto"`` runs the three views on scans at least this long along the body axis (mm), axial slices only
#: on shorter ones: a short stretch gives coronal and sagittal slices too little of each organ to go on.
AUTO_THREE_VIEW_EXTENT_MM = 150.0
#: The anatomical rules of :mod:`.anatomy`, in the order they are applied to the fused boxes.
ANATOMY_RULES = ("size", "side", "vertebrae")


@dataclasses.dataclass(frozen=True)
class DetectParameters(Parameters):
    """Everything that controls :func:`clinicalimaging.detect.inference.detect_organs_in_array`.

    The model fixes the pixel size, the intensity normalisation and the classes; these
    are the choices left at detection time.
    """

    score_threshold: float = parameter(0.15, minimum=0.0, maximum=1.0,
                                       help="Organs whose score is below this are not reported. For a calibrated "
                                            "model (its file has a score calibration) the score is the estimated "
                                            "probability that the box is right (3-D IoU >= 0.5 with the organ): 0.5 "
                                            "keeps the boxes more likely right than wrong; otherwise it is the "
                                            "fused network score, which ranks boxes but is no probability.")
    min_context: float = parameter(0.3, minimum=0.0, maximum=1.0,
                                   help="Nothing is reported when no organ is found clearly (fused score 0.6) "
                                        "and none with the organs it comes with in the model's training volumes "
                                        "(mean fused score of those at least this): the scan shows no anatomy the "
                                        "model knows, e.g. a brain MRI for an abdominal model. 0 turns the check "
                                        "off.")
    views: str = parameter("auto", choices=("auto", "all", "axial"),
                           help="'all': detect on axial, coronal and sagittal slices and fuse the three; "
                                "'axial': axial slices only (the paper); 'auto': all three on scans at least "
                                "150 mm long, axial only on shorter ones.")
    slice_score_threshold: float = parameter(0.1, minimum=0.0, maximum=1.0,
                                             help="Per-slice detections below this score do not count towards "
                                                  "an organ's run of slices.")
    min_slices: int = parameter(2, minimum=1, maximum=50,
                                help="An organ must be found on at least this many neighbouring slices of a view.")
    max_gap_slices: int = parameter(2, minimum=0, maximum=20,
                                    help="Slices without the organ tolerated inside its run.")
    nms_iou: float = parameter(0.45, minimum=0.05, maximum=0.95,
                               help="Per-slice non-maximum suppression: boxes of one organ overlapping more than "
                                    "this (IoU) are merged into the best one.")
    batch_size: int = parameter(16, minimum=1, maximum=512, help="Slices per network call.")
    anatomy_rules: str = parameter("all", help="Anatomical checks of the organ boxes: 'all', 'none', or a "
                                               "comma-separated list of 'size' (shrink boxes longer than the organ "
                                               "ever is, reject tiny ones), 'side' (drop left/right organs, liver and "
                                               "spleen found on the wrong side of the midline) and 'vertebrae' "
                                               "(vertebrae in head-to-feet order, overlapping no more than "
                                               "real ones).")

    def anatomy_rule_names(self):
        """The anatomical rules to apply, in :data:`ANATOMY_RULES` order."""
        return tuple(rule for rule in ANATOMY_RULES if rule in self._named_rules())

    def _named_rules(self):
        """The names in ``anatomy_rules``, with 'all' and 'none' expanded; an empty list names ''."""
        text = self.anatomy_rules.strip().lower()
        if text in ("all", "none"):
            return set(ANATOMY_RULES) if text == "all" else set()
        return {name.strip() for name in text.split(",") if name.strip()} or {""}

    def check(self):
        if self._named_rules() - set(ANATOMY_RULES):
            raise ParameterError(f"{{0}} must be 'all', 'none' or a comma-separated list of "
                                 f"{', '.join(ANATOMY_RULES)}; got {self.anatomy_rules!r}.", "anatomy_rules")

    def view_names(self, extent_mm=None):
        """The views to run, in :data:`VIEWS` order.

        Parameters
        ----------
        extent_mm : float, optional
            The scan's length along the body axis (superior-inferior), for ``"auto"``;
            unknown counts as long.
        """
        if self.views == "auto":
            long_scan = extent_mm is None or extent_mm >= AUTO_THREE_VIEW_EXTENT_MM
            return VIEWS if long_scan else ("axial",)
        return VIEWS if self.views == "all" else ("axial",)


@dataclasses.dataclass(frozen=True)
class TrainParameters(Parameters):
    """Everything that controls :func:`clinicalimaging.detect.training.train_detector`."""

    views: str = parameter("all", choices=("all", "axial"),
                           help="Train on slices of the three views ('all', needed to detect with --views all) or "
                                "on axial slices only.")
    epochs: int = parameter(30, minimum=1, maximum=10000, help="Passes over the sampled training slices.")
    slices_per_epoch: int = parameter(256, minimum=8, maximum=100000,
                                      help="Training slices drawn (with their augmentation) per epoch.")
    batch_size: int = parameter(8, minimum=1, maximum=256, help="Slices per training step.")
    learning_rate: float = parameter(3e-3, minimum=1e-6, maximum=1.0,
                                     help="Adam's initial learning rate when training from scratch (cosine decay "
                                          "to 5 % over the run).")
    fine_tune_learning_rate: float = parameter(3e-4, minimum=1e-6, maximum=1.0,
                                               help="Adam's initial learning rate when fine-tuning a model (cosine "
                                                    "decay to 5 % over the run): a tenth of the from-scratch rate, "
                                                    "so that the model's weights are adjusted, not relearnt.")
    width: float = parameter(0.25, minimum=0.0625, maximum=1.0,
                             help="Width multiplier of the VGG16 backbone: 1 is VGG16's 64-512 channels.")
    pixel_mm: float = parameter(3.0, unit="mm", minimum=0.5, maximum=8.0,
                                help="Slices are resampled to square pixels of this size (and slices this far apart).")
    crop_px: int = parameter(128, unit="px", minimum=64, maximum=1024,
                             help="Training slices are cropped or padded to this square size (a multiple of 32).")
    clusters: int = parameter(6, minimum=1, maximum=12,
                              help="k of the k-means (1 - IoU distance) on the training boxes' sizes: the default "
                                   "boxes' aspect ratios and widths, and the output layers.")
    dihedral_probability: float = parameter(0.25, minimum=0.0, maximum=1.0,
                                            help="Probability that a training slice gets one of the 7 non-identity "
                                                 "rotations/mirrors of the 8x augmentation (left/right labels "
                                                 "swapped when mirrored).")
    scale_jitter: float = parameter(0.15, minimum=0.0, maximum=0.5,
                                    help="Training slices are zoomed by a random factor in 1 +- this.")
    aspect_jitter: float = parameter(0.1, minimum=0.0, maximum=0.5,
                                     help="Training slices are also stretched along one axis and shrunk along the "
                                          "other by a random factor in 1 +- this (body shapes differ).")
    rotation_jitter: float = parameter(10.0, unit="degrees", minimum=0.0, maximum=45.0,
                                       help="Training slices are rotated in-plane by a random angle in +- this.")
    intensity_jitter: float = parameter(0.1, minimum=0.0, maximum=0.5,
                                        help="Random contrast and brightness change of the normalised slices.")
    negatives_per_positive: float = parameter(3.0, minimum=0.5, maximum=20.0,
                                              help="Hard-negative mining: background boxes kept per matched box.")
    grade_weight: float = parameter(0.5, minimum=0.0, maximum=10.0,
                                    help="Weight of the grade (lesion present) loss; 0 trains no grade head.")
    absent_classes: str = parameter("ignored", choices=("ignored", "background"),
                                    help="Organs that a case's label names do not name (a label map of some organs "
                                         "only): 'ignored' lets a background box be such an organ too (the "
                                         "marginal loss, Shi et al. 2021), so fine-tuning on some organs does not "
                                         "teach that the others are absent; 'background' teaches them as absent.")
    distillation_weight: float = parameter(1.0, minimum=0.0, maximum=10.0,
                                           help="Fine-tuning (--init) on label maps that name only some organs: "
                                                "where the model being fine-tuned found an organ the labels do "
                                                "not name, it keeps that detection as a target (learning without "
                                                "forgetting; Li and Hoiem 2016). The weight of that loss; 0 turns "
                                                "it off.")
    synthetic_fraction: float = parameter(0.0, minimum=0.0, maximum=1.0,
                                          help="Fraction of the training slices drawn from synthetic volumes made "
                                               "from the label maps (random anatomy, contrast, slice thickness, "
                                               "coverage; SynthSeg-style domain randomisation); 0 (the default) "
                                               "trains on the images only. Training from scratch with it needs long "
                                               "runs; the shipped model was fine-tuned with 0.3 over 6,000 steps "
                                               "(docs/detection.md).")
    synthetic_volumes: int = parameter(24, minimum=1, maximum=1000,
                                       help="Synthetic volumes held at once; every eighth holds random shapes and "
                                            "no organ.")
    synthetic_refresh: int = parameter(2, minimum=0, maximum=1000,
                                       help="Synthetic volumes drawn anew after each epoch.")
    calibration_volumes: int = parameter(0, minimum=0, maximum=1000,
                                         help="After training, calibrate the scores (Platt scaling: the "
                                              "probability that a box is right) on this many held-apart synthetic "
                                              "volumes, every fourth of them random shapes without organs; 0 (the "
                                              "default) leaves the scores raw. Synthetic volumes are harder than "
                                              "real scans, so this calibration is pessimistic on real ones.")
    seed: int = parameter(0, minimum=0, maximum=2**31 - 1, help="Seed of every random choice of the training.")

    def view_names(self):
        """The views to train on, in :data:`VIEWS` order."""
        return VIEWS if self.views == "all" else ("axial",)

    def check(self):
        if self.crop_px % 32:
            raise ParameterError("{0} must be a multiple of 32 (the backbone's five poolings); got %d."
                                 % self.crop_px, "crop_px")
