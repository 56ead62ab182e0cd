"""``python -m clinicalimaging`` (and ``PythonSlicer -m clinicalimaging``): the command line."""

import sys

from .cli import main

sys.exit(main())
