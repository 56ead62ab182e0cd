"""OrganDetect's logic: the multi-scale multi-task FCN, its training, inference and MRML outputs.

Keras (and its backend) is imported only inside the functions that build, train or
load a network, so everything else here runs without it, and always through
:func:`.backend.import_keras`, which keeps TensorFlow's start-up notices off stderr.
Method notes: docs/detection.md.
"""
