"""The multi-scale multi-task fully convolutional network (Keras 3 layers and ops only; no I/O).

Backbone: VGG16's five convolution blocks (2, 2, 3, 3, 3 convolutions of 3x3, 64 to
512 channels times ``width``, each block closed by a 2x2 max-pooling), and its fully
connected fc6/fc7 as convolutions (3x3 then 1x1) after pool5, as SSD does; with the
three classification layers of VGG16 gone, the network is fully convolutional and
takes slices of any size that is a multiple of 32.

Output layers: the layers :func:`clinicalimaging.detect.boxes.choose_output_layers`
picked from the k-means clusters of the training boxes. An auxiliary top-down path
enhances them (the paper's multi-level semantic feature enhancement): the deepest
chosen layer's features are upsampled and added to a 1x1 projection of each
shallower chosen layer, then smoothed by a 3x3 convolution (a feature pyramid, Lin et
al. 2017). Each output layer has three heads, each a 3x3 convolution: box offsets (4
per default box), organ class (background + one per organ) and grade (one logit per
default box: lesion present in the organ).

The model has one output ``(batch, boxes, 4 + classes + 1 + 1)``: offsets, class
logits (background first), grade logit, in the default-box order of
:func:`clinicalimaging.detect.boxes.default_boxes`. It is float32 even under mixed
precision.
"""

from .backend import import_keras
from .boxes import OUTPUT_LAYER_CANDIDATES

keras = import_keras()
layers = keras.layers

#: VGG16's blocks: (convolutions, channels at width 1), and the name of each block's last convolution.
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
INPUT_CHANNELS = 2


def _channels(full, width):
    return max(8, int(round(full * width)))


def backbone_features(inputs, width):
    """VGG16's layers ``conv1_2`` ... ``conv5_3`` and ``fc7`` on an input tensor, by name."""
    features, x = {}, inputs
    for block, (count, channels) in enumerate(VGG16_BLOCKS, start=1):
        for index in range(1, count + 1):
            x = layers.Conv2D(_channels(channels, width), 3, padding="same", use_bias=False,
                              name=f"conv{block}_{index}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"conv{block}_{index}_norm")(x)
            x = layers.ReLU(name=f"conv{block}_{index}_relu")(x)
        features[f"conv{block}_{count}"] = x
        x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Conv2D(_channels(1024, width), 3, padding="same", activation="relu", name="fc6")(x)
    features["fc7"] = layers.Conv2D(_channels(1024, width), 1, activation="relu", name="fc7")(x)
    return features


def build_detector(*, num_classes, output_layers, boxes_per_layer, width=0.25, enhance_channels=None):
    """The detection network.

    Parameters
    ----------
    num_classes : int
        Organ classes (without the background).
    output_layers : sequence of str
        Output layer names among ``conv3_3``, ``conv4_3``, ``conv5_3``, ``fc7``, in depth order.
    boxes_per_layer : sequence of int
        Default boxes per position of each output layer.
    width : float
        Width multiplier of the backbone (1 = VGG16).
    enhance_channels : int, optional
        Channels of the top-down path; default that of ``conv4_3``.

    Returns
    -------
    keras.Model
        Input ``(batch, rows, columns, 2)`` (rows and columns multiples of 32), output
        ``(batch, boxes, 4 + num_classes + 2)``.
    """
    inputs = keras.Input((None, None, INPUT_CHANNELS), name="slices")
    features = backbone_features(inputs, width)
    channels = enhance_channels or _channels(512, width)
    depth_order = [candidate.name for candidate in OUTPUT_LAYER_CANDIDATES]
    strides = {candidate.name: candidate.stride for candidate in OUTPUT_LAYER_CANDIDATES}
    chosen = sorted(output_layers, key=depth_order.index)
    enhanced, top, top_stride = {}, None, None
    for name in reversed(chosen):
        lateral = layers.Conv2D(channels, 1, name=f"{name}_lateral")(features[name])
        if top is not None:
            factor = top_stride // strides[name]
            lateral = layers.Add(name=f"{name}_enhanced")(
                [lateral, layers.UpSampling2D(factor, name=f"{name}_top_down")(top)])
        top, top_stride = lateral, strides[name]
        enhanced[name] = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"{name}_smooth")(lateral)
    outputs = []
    head_sizes = (("offsets", 4), ("classes", num_classes + 1), ("grade", 1))
    for name, count in zip(chosen, boxes_per_layer):
        heads = [layers.Reshape((-1, size), name=f"{name}_{what}_flat")(
                 layers.Conv2D(count * size, 3, padding="same", name=f"{name}_{what}")(enhanced[name]))
                 for what, size in head_sizes]
        outputs.append(layers.Concatenate(axis=-1, name=f"{name}_boxes")(heads))
    merged = outputs[0] if len(outputs) == 1 else layers.Concatenate(axis=1, name="boxes")(outputs)
    merged = layers.Activation("linear", dtype="float32", name="detections")(merged)
    return keras.Model(inputs, merged, name="organ_detector")
