"""Node-level fractional enhancement on real MRML nodes (slicer-core)."""

import numpy as np
import pytest

from clinicalimaging import Cancelled, InputError, mrml
from clinicalimaging.enhance import EnhanceParameters
from clinicalimaging.enhance.nodes import PARAMETERS_ATTRIBUTE, enhance_volume
from clinicalimaging.phantom import make_phantom, phantom_volume


@pytest.fixture
def oblique_volume():
    phantom = make_phantom("mr", shape=(8, 48, 40), spacing=(3.5, 0.9, 0.7), oblique=True, seed=2)
    volume, labels = phantom_volume(phantom, name="oblique")
    yield volume
    for node in (volume, labels):
        node.GetScene().RemoveNode(node)


def _new_volume(name):
    return mrml.get_scene().AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)


def test_outputs_have_the_input_geometry_and_the_input_is_unchanged(oblique_volume):
    before_array = mrml.array_from_volume(oblique_volume)
    before_matrix = mrml.ijk_to_ras(oblique_volume)
    order_map, fractal_map = _new_volume("order"), _new_volume("fractal")
    output = enhance_volume(oblique_volume, None, EnhanceParameters(mask="3d"), order_map_node=order_map,
                            fractal_map_node=fractal_map)
    assert not np.allclose(before_matrix[:3, :3] / np.linalg.norm(before_matrix[:3, :3], axis=0), np.eye(3))
    for node in (output, order_map, fractal_map):
        np.testing.assert_allclose(mrml.ijk_to_ras(node), before_matrix, atol=1e-9)
        assert mrml.array_from_volume(node).shape == before_array.shape
    np.testing.assert_array_equal(mrml.array_from_volume(oblique_volume), before_array)
    np.testing.assert_allclose(mrml.ijk_to_ras(oblique_volume), before_matrix)
    assert output.GetName() == "oblique_enhanced"
    assert EnhanceParameters.from_json(output.GetAttribute(PARAMETERS_ATTRIBUTE)).mask == "3d"
    assert not np.array_equal(mrml.array_from_volume(output), before_array)


def test_order_map_is_aligned_with_the_fractal_map(oblique_volume):
    order_map, fractal_map = _new_volume("order"), _new_volume("fractal")
    enhance_volume(oblique_volume, _new_volume("out"), {"mode": "paper"}, order_map_node=order_map,
                   fractal_map_node=fractal_map)
    from clinicalimaging.enhance.order_map import paper_order_map
    np.testing.assert_allclose(mrml.array_from_volume(order_map),
                               paper_order_map(mrml.array_from_volume(fractal_map)), rtol=1e-6)


def test_cancel_leaves_the_output_node_untouched(oblique_volume):
    output = mrml.new_volume_like(oblique_volume, np.zeros(mrml.array_from_volume(oblique_volume).shape, np.int16))
    with pytest.raises(Cancelled):
        enhance_volume(oblique_volume, output, progress=lambda fraction, message: fraction < 0.5)
    assert not mrml.array_from_volume(output).any()


def test_bad_nodes_raise_input_error(oblique_volume):
    with pytest.raises(InputError, match="output is the input"):
        enhance_volume(oblique_volume, oblique_volume)
    same = _new_volume("same")
    with pytest.raises(InputError, match="two outputs"):
        enhance_volume(oblique_volume, same, order_map_node=same)
    with pytest.raises(InputError, match="No input volume"):
        enhance_volume(_new_volume("empty"))
    rgb = mrml.get_scene().AddNewNodeByClass("vtkMRMLVectorVolumeNode", "rgb")
    import vtk
    image = vtk.vtkImageData()
    image.SetDimensions(8, 8, 2)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 3)
    rgb.SetAndObserveImageData(image)
    with pytest.raises(InputError, match="components"):
        enhance_volume(rgb)
    constant = mrml.new_volume_like(oblique_volume, np.full(mrml.array_from_volume(oblique_volume).shape, 7, np.int16))
    with pytest.raises(InputError, match="constant"):
        enhance_volume(constant)
