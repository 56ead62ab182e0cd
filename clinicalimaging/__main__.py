"""``python -m clinicalimaging`` (and ``PythonSlicer -m clinicalimaging``): the command line.

Goes through :func:`clinicalimaging.launch.main`, which handles interrupts from the first moment.
"""

from .launch import main

main()
