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
        return sorted(headers, key=lambda path: headers[path][1])
    return sorted(headers, key=lambda path: headers[path][2])
