#-----------------------------------------------------------------------------
# The shared logic package `clinicalimaging`, built as a library-only scripted
# target: no module class, no generic module tests.
#
# Included (not add_subdirectory'd) from the top-level CMakeLists.txt so that the
# script paths are relative to the repository root: they keep their
# `clinicalimaging/` prefix and land as a package folder in qt-scripted-modules.
# Loose top-level .py files there would be loaded by Slicer as modules.
#
# Every .py file of the package is picked up, so a new file cannot be left out;
# Testing/test_modules_static.py checks the installed list against the folder.

file(GLOB_RECURSE CLINICALIMAGING_PYTHON_SCRIPTS
  RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
  CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/clinicalimaging/*.py
  )

slicerMacroBuildScriptedModule(
  NAME clinicalimaging
  SCRIPTS ${CLINICALIMAGING_PYTHON_SCRIPTS}
  )
