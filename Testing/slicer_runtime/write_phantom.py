"""Write a small CT phantom as a NRRD file with SimpleITK: ``python write_phantom.py OUT.nrrd``.

Runs in a stock-Slicer environment (numpy, SimpleITK and the installed package only).
"""

import sys

import numpy as np
import SimpleITK as sitk

from clinicalimaging.phantom import make_phantom


def main(path):
    phantom = make_phantom("ct", shape=(8, 48, 48))
    image = sitk.GetImageFromArray(np.ascontiguousarray(phantom.image))
    image.SetSpacing([float(s) for s in reversed(phantom.spacing)])  # (k, j, i) -> (x, y, z)
    sitk.WriteImage(image, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
