"""Self-paced lesion segmentation (SelfPacedSegment's logic): array level, no slicer.

Resampling to near-isotropic spacing, the rough level-set segmentation, per-voxel
features and the self-paced SVM of Han & Xu (2021), section 2.3; see
docs/segmentation.md. Import the submodules directly.
"""
