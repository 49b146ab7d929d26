"""The MLPerf Tiny stand-ins have the reference networks' published sizes, and their data
has the shapes the networks take."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge import mlperf_tiny
from lrf_edge.data import machine_sound_frames
from lrf_edge.frontends import from_keras_model

# ../shared/docs/mlperf_tiny.md: params (with BN folded where the table gives it), MACs
PUBLISHED = {"ad_autoencoder": (265_864, 264_192), "ds_cnn": (None, 2_656_768),
             "resnet8": (None, 12_501_632), "mobilenet_v1": (None, 7_489_664),
             "ds_tcn": (None, 826_368)}
# ds_tcn: 46,883 in the int8 TFLite file, whose first depthwise has a (zero) bias tensor;
# the Keras layer has none: 40 fewer
ABOUT = {"ds_cnn": 23_000, "resnet8": 78_000, "mobilenet_v1": 210_000, "ds_tcn": 46_883}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_reference_sizes(name):
    model = mlperf_tiny.NETWORKS[name]()
    g = from_keras_model(model)
    params, macs = PUBLISHED[name]
    assert g.macs == macs
    if params is not None:
        assert g.params == params
    else:  # the table rounds: within 3%
        assert abs(g.params - ABOUT[name]) / ABOUT[name] < 0.03
    data = mlperf_tiny.data_for(name, n_train=8, n_test=4)
    assert data.input_shape == tuple(g.input_shape)
    if data.y_train is not None:
        assert data.y_train.max() < g.output_shape[-1]


def test_machine_sounds_are_structured_and_seeded():
    a, b = machine_sound_frames(64, seed=1), machine_sound_frames(64, seed=1)
    assert np.array_equal(a, b) and a.shape == (64, 640)
    # low-rank structure an autoencoder can learn: few components hold most of the energy
    s = np.linalg.svd(a - a.mean(0), compute_uv=False)
    assert (s[:8] ** 2).sum() / (s ** 2).sum() > 0.8
