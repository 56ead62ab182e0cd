"""OrganDetect's logic: the multi-scale multi-task FCN, its training, inference and MRML outputs.

Keras (and its backend) is imported only inside the functions that build, train or
load a network, so everything else here runs without it. TensorFlow's start-up
notices on stderr are turned off (``TF_CPP_MIN_LOG_LEVEL=2``, unless already set), so
that a command's stderr holds its own messages only. Method notes: docs/detection.md.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
