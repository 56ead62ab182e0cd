"""The one door to MRML: files <-> nodes, node <-> (array, geometry), output nodes, tables, markups.

Every other part of the package reaches MRML through these functions. They work in
two places with the same code:

- inside 3D Slicer, on ``slicer.mrmlScene``;
- standalone on the ``slicer-core`` wheel, on one scene created on first use together
  with the module logics Slicer would create (colors, volumes, segmentations, markups,
  tables), see :func:`get_scene`.

Arrays are in MRML's KJI order (``array[k, j, i]``); spacings are in mm in the same
order. Geometry is the node's 4x4 IJK-to-RAS matrix (origin, spacing and direction
cosines, oblique included). Files are read like Slicer's ``loadVolume`` does, so a file
stored left-handed gets its k axis flipped while its physical geometry stays right; every
volume and segmentation made on such a node is written back in the file's own voxel
order (:func:`in_file_order`).

Modules: ``scene`` (the scene), ``paths`` (output checks and staging),
``volume_files`` and ``dicom`` (reading and writing volumes), ``volumes`` (arrays and
geometry), ``roles`` (image or label map: the right kind of input), ``images``
(SimpleITK), ``labels``, ``segmentations``, ``tables``, ``markups``, ``bundle`` (scenes as
Slicer's ``.mrb``). Import the names from here.
"""

from .images import ijk_to_ras_from_sitk, sitk_image_from_volume, volume_from_sitk_image
from .labels import label_mask_like, label_values_text, labels_like, set_label_names
from .bundle import read_scene_bundle, write_scene_bundle
from .dicom import slice_instance_numbers
from .markups import (COORDINATE_SYSTEM_ATTRIBUTE, check_outline_node, markups_from_points, points_kji, read_markups,
                      read_markups_list, write_markups, write_markups_list)
from .paths import (OUTPUT_EXTENSIONS, VOLUME_EXTENSIONS, check_output_path, check_outputs, replaced_outputs,
                    staged_outputs, temporary_folder)
from .scene import case_scene, get_scene
from .segmentations import (labelmap_from_segment, read_segmentation, segment_mask, segmentation_from_mask,
                            write_segmentation)
from .tables import table_from_rows, write_table
from .volume_files import file_is_compressed, file_slice_index, read_volume, write_volume
from .roles import check_image, check_label_inside, check_label_map, check_volume_nodes, looks_like_label_map
from .volumes import (array_from_volume, empty_voxels_like, ijk_to_ras, in_file_order, new_volume_like, spacing_kji,
                      volume_from_array, voxels_of_volume)

__all__ = [
    "VOLUME_EXTENSIONS", "OUTPUT_EXTENSIONS",
    "get_scene", "case_scene",
    "check_output_path", "check_outputs", "staged_outputs", "temporary_folder", "replaced_outputs",
    "read_volume", "write_volume", "file_slice_index", "file_is_compressed",
    "check_volume_nodes", "array_from_volume", "voxels_of_volume", "empty_voxels_like", "spacing_kji", "ijk_to_ras",
    "volume_from_array", "new_volume_like", "in_file_order",
    "sitk_image_from_volume", "volume_from_sitk_image", "ijk_to_ras_from_sitk",
    "set_label_names", "label_mask_like", "labels_like", "label_values_text",
    "check_image", "check_label_map", "check_label_inside", "looks_like_label_map",
    "segment_mask", "segmentation_from_mask", "labelmap_from_segment", "read_segmentation", "write_segmentation",
    "table_from_rows", "write_table",
    "read_markups", "points_kji", "markups_from_points", "write_markups", "read_markups_list", "write_markups_list",
    "check_outline_node", "COORDINATE_SYSTEM_ATTRIBUTE", "slice_instance_numbers",
    "write_scene_bundle", "read_scene_bundle",
]
