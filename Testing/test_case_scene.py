"""One scene per case: the nodes of one case never meet another's, and the process's own scene comes back."""

from clinicalimaging import mrml


def test_a_case_works_in_a_new_scene_that_is_cleared_afterwards():
    before = mrml.get_scene()
    count = before.GetNumberOfNodes()
    with mrml.case_scene() as scene:
        assert scene is not before and mrml.get_scene() is scene
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "case volume")
        assert scene.GetNodeByID(node.GetID()) is node
    assert mrml.get_scene() is before and before.GetNumberOfNodes() == count
    assert scene.GetNumberOfNodes() == 0


def test_cases_in_turn_get_scenes_of_their_own():
    names = []
    for case in ("first", "second"):
        with mrml.case_scene() as scene:
            scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", case)
            names.append(sorted(node.GetName() for node in scene.GetNodesByClass("vtkMRMLScalarVolumeNode")))
    assert names == [["first"], ["second"]]


def test_inside_an_application_scene_the_case_nodes_are_removed_afterwards(scene):
    """The scene Slicer owns (here a standalone scene installed as slicer.mrmlScene) keeps only its own nodes."""
    import slicer

    previous = getattr(slicer, "mrmlScene", None)
    slicer.mrmlScene = scene
    try:
        kept = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "user's volume")
        count = scene.GetNumberOfNodes()
        with mrml.case_scene() as working:
            assert working is scene
            working.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "case volume")
            assert scene.GetNumberOfNodes() == count + 1
        assert scene.GetNumberOfNodes() == count and scene.GetNodeByID(kept.GetID()) is kept
    finally:
        slicer.mrmlScene = previous
