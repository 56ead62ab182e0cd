"""Whether a NIfTI file holds all the voxels its header describes.

ITK reads a truncated ``.nii`` or ``.nii.gz`` without an error and fills the missing
voxels with zeros, so a partly copied file would be analysed as if whole. The header
gives the size of the voxel data; a raw file must be at least that long, and a gzip
stream must end (with its trailer) after exactly that many bytes.
"""

import gzip
import struct
import zlib
from pathlib import Path

from ..errors import InputError

_GZIP_CHUNK = 1 << 22


def check_nifti_complete(path):
    """Refuse a NIfTI file (``.nii`` or ``.nii.gz``, NIfTI-1 or NIfTI-2) whose voxel data are cut short.

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    InputError
        The file ends before the voxel data its header describes, or its gzip stream
        is cut short or corrupt. A header that is not NIfTI is left to the reader.
    """
    path = Path(path)
    compressed = path.name.lower().endswith(".gz")
    try:
        with (gzip.open if compressed else open)(path, "rb") as file:
            expected = _expected_bytes(file.read(540))
    except (OSError, EOFError, zlib.error):
        expected = None
    if expected is None:
        return
    held = _gzip_length(path, expected) if compressed else path.stat().st_size
    if held is None:
        raise InputError(f"Input '{path}' is truncated or corrupt: its gzip stream ends early or is damaged, so "
                         "part of the voxels is missing. Copy or export the file again.")
    if held < expected:
        raise InputError(f"Input '{path}' is truncated: its header describes {expected:,} bytes of header and voxel "
                         f"data but the file holds {held:,} ({100 * held / expected:.0f} %). Copy or export the file "
                         "again.")


def _expected_bytes(header):
    """Header plus voxel bytes that a NIfTI-1 or NIfTI-2 header describes, or None for another header."""
    for order in "<>":
        if len(header) >= 348 and struct.unpack(order + "i", header[:4])[0] == 348:
            dims = struct.unpack(order + "8h", header[40:56])
            bitpix = struct.unpack(order + "h", header[72:74])[0]
            offset = int(struct.unpack(order + "f", header[108:112])[0])
            return _total(dims, bitpix, max(offset, 348))
        if len(header) >= 540 and struct.unpack(order + "i", header[:4])[0] == 540:
            bitpix = struct.unpack(order + "h", header[14:16])[0]
            dims = struct.unpack(order + "8q", header[16:80])
            offset = struct.unpack(order + "q", header[168:176])[0]
            return _total(dims, bitpix, max(offset, 540))
    return None


def _total(dims, bitpix, offset):
    count = dims[0]
    if not 1 <= count <= 7 or bitpix <= 0 or any(size < 0 for size in dims[1:count + 1]):
        return None
    voxels = 1
    for size in dims[1:count + 1]:
        voxels *= max(size, 1)
    return offset + (voxels * bitpix + 7) // 8


def _gzip_length(path, expected):
    """The uncompressed length of a gzip file, or None when its stream is cut short or corrupt.

    The trailer's length field (the size modulo 2**32) settles a whole file at once;
    otherwise the stream is decompressed to its end.
    """
    with open(path, "rb") as file:
        file.seek(-4, 2)
        if struct.unpack("<I", file.read(4))[0] == expected % (1 << 32):
            return expected
    length = 0
    try:
        with gzip.open(path, "rb") as file:
            while chunk := file.read(_GZIP_CHUNK):
                length += len(chunk)
    except (EOFError, OSError, zlib.error):
        return None
    return length
