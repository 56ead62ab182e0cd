"""Extra Python packages of a module, installed on first use after the user agrees: for the Slicer modules only.

Each module lists the packages it needs beyond what Slicer ships in its
``Resources/Requirements/<Module>.txt``. Slicer 5.12 and newer install them with
``slicer.packaging.pip_ensure`` (which asks the user first); Slicer 5.10 has only
``slicer.util.pip_install``, so the question is asked here. Slicer is imported inside
the function, so importing the file itself works anywhere.
"""

from pathlib import Path


def ensure_requirements(requirements_path, *, requester: str) -> bool:
    """Make sure the packages of a requirements file are installed, asking the user before installing.

    Parameters
    ----------
    requirements_path : str or Path
        A pip requirements file (one requirement per line, ``#`` comments).
    requester : str
        The module's name, shown in the question.

    Returns
    -------
    bool
        True when every requirement is satisfied (already or after installing);
        False when the user declined the installation.
    """
    import slicer

    try:
        import slicer.packaging as packaging
    except ImportError:  # Slicer before 5.12
        return _ensure_with_pip_install(requirements_path, requester)
    requirements = packaging.load_requirements(str(requirements_path))
    if not requirements:
        return True
    try:
        packaging.pip_ensure(requirements, requester=requester)
    except RuntimeError:  # the user declined
        slicer.util.showStatusMessage(f"{requester}: the Python packages it needs were not installed.", 5000)
        return False
    return True


def missing_requirements(requirements_path):
    """The requirements of a file that the running Python does not satisfy.

    Parameters
    ----------
    requirements_path : str or Path

    Returns
    -------
    list of str
        The requirement lines (as written) that are not installed or whose
        installed version does not match; lines whose environment marker does not
        hold here (another platform) are left out.
    """
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    missing = []
    for line in Path(requirements_path).read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # for another platform or Python
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            missing.append(text)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(text)
    return missing


def _ensure_with_pip_install(requirements_path, requester):
    """Slicer 5.10: ask, then ``slicer.util.pip_install`` each missing requirement."""
    import slicer

    missing = missing_requirements(requirements_path)
    if not missing:
        return True
    question = (f"{requester} needs these Python packages, which are not installed: {', '.join(missing)}.\n\n"
                "Install them now? This may take a few minutes.")
    if not slicer.util.confirmOkCancelDisplay(question, windowTitle=f"{requester}: install Python packages"):
        slicer.util.showStatusMessage(f"{requester}: the Python packages it needs were not installed.", 5000)
        return False
    with slicer.util.WaitCursor():
        slicer.util.pip_install(missing)
    return True
