"""The files of one DICOM series in a folder, in spatial order."""

import numpy as np

from ..errors import InputError
from .paths import VOLUME_EXTENSIONS


def _dicom_header(path):
    """(series UID, position along the slice normal or None, instance number) of a DICOM file, or None."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None

    def tag(key, default=""):
        return reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else default

    try:
        orientation = np.array(tag("0020|0037").split("\\"), float)
        position = float(np.dot(np.array(tag("0020|0032").split("\\"), float), np.cross(orientation[:3],
                                                                                       orientation[3:])))
    except ValueError:
        position = None
    try:
        instance = int(tag("0020|0013", "0"))
    except ValueError:
        instance = 0
    return tag("0020|000e"), position, instance


def _dicom_files(folder):
    """The DICOM files of the one series in ``folder``, sorted along the slice normal.

    The archetype reader needs them in spatial order; failing that, instance number
    order. InputError for a folder with no DICOM file or with several series.
    """
    headers = {path: _dicom_header(path) for path in sorted(folder.iterdir()) if path.is_file()}
    headers = {path: header for path, header in headers.items() if header is not None}
    if not headers:
        raise InputError(f"Input folder '{folder}' contains no DICOM files. Pass a folder holding the DICOM "
                         f"files of one series, or a volume file ({', '.join(VOLUME_EXTENSIONS)}).")
    series = sorted({header[0] for header in headers.values()})
    if len(series) > 1:
        raise InputError(f"Input folder '{folder}' holds {len(series)} DICOM series ({', '.join(series)}). "
                         "Put each series in its own folder and pass one series folder.")
    if all(header[1] is not None for header in headers.values()):
        ordered = sorted(headers, key=lambda path: headers[path][1])
        _check_no_gap(folder, [(headers[path][1], headers[path][2]) for path in ordered])
        return ordered
    return sorted(headers, key=lambda path: headers[path][2])


#: A step between neighbouring slices this many times the series' usual step means slices are missing.
_GAP_FACTOR = 1.5


def _check_no_gap(folder, slices):
    """Refuse a series whose slice positions skip: slices are missing (a partial copy or transfer).

    Parameters
    ----------
    folder : Path
    slices : list of (float, int)
        Position along the slice normal (mm) and instance number of each file, in spatial order.
    """
    if len(slices) < 3:
        return
    positions = np.array([position for position, _ in slices])
    steps = np.diff(positions)
    usual = float(np.median(steps))
    if usual <= 0:
        return
    gaps = np.flatnonzero(steps > _GAP_FACTOR * usual)
    if gaps.size:
        first = gaps[0]
        missing = int(sum(round(steps[gap] / usual) - 1 for gap in gaps))
        raise InputError(f"DICOM series '{folder}' has missing slices: about {missing} slice(s) absent, the first gap "
                         f"between instance {slices[first][1]} at {positions[first]:.2f} mm and instance "
                         f"{slices[first + 1][1]} at {positions[first + 1]:.2f} mm along the slice normal (slices "
                         f"elsewhere {usual:.2f} mm apart). Copy or export the whole series again.")


def slice_instance_numbers(node):
    """The DICOM instance number (0020,0013) of each slice of a volume read from the files of a DICOM series.

    Each file is matched to the node's slice at its position along the slice normal,
    so the numbers follow the node's k axis whatever order the files were listed or
    read in.

    Parameters
    ----------
    node : vtkMRMLVolumeNode
        Read from a DICOM series (its storage node lists the files, one per slice),
        e.g. by :func:`~clinicalimaging.mrml.read_volume` or Slicer's DICOM module.

    Returns
    -------
    list of int or None
        The instance number of slice ``k`` of the node's array at index ``k``; None
        for a volume not read from single-slice DICOM files (a volume file, a
        computed volume) or whose files' positions do not match its slices.
    """
    from .volumes import ijk_to_ras

    storage = node.GetStorageNode()
    slices = node.GetImageData().GetDimensions()[2] if node.GetImageData() is not None else 0
    if storage is None or not storage.IsA("vtkMRMLVolumeArchetypeStorageNode") \
            or storage.GetNumberOfFileNames() != slices or slices == 0:
        return None
    headers = [_dicom_header(storage.GetNthFileName(index)) for index in range(slices)]
    if any(header is None or header[1] is None for header in headers):
        return None
    matrix = ijk_to_ras(node)
    step = matrix[:3, 2] * [-1.0, -1.0, 1.0]  # the k axis in LPS, DICOM's patient coordinates
    first = matrix[:3, 3] * [-1.0, -1.0, 1.0]
    length = float(np.linalg.norm(step))
    positions = np.array([header[1] for header in headers])  # along the file's own normal: +-1 times along k
    for sign in (1.0, -1.0):
        k = (sign * positions - first @ step / length) / length
        nearest = np.rint(k).astype(int)
        if np.allclose(k, nearest, atol=0.25) and sorted(nearest) == list(range(slices)):
            numbers = [0] * slices
            for index, header in zip(nearest, headers):
                numbers[index] = header[2]
            return numbers
    return None
