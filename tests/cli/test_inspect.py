"""`lrf-edge inspect` on the example models: counts checked against Keras and by hand."""

import json
import subprocess
import sys

import keras
import pytest

from lrf_edge.cli.main import main

# Hand-computed: dense X->Y has XY+Y params and 2XY+Y FLOPs; a conv has
# Ho*Wo*N*kh*kw*C MACs and Ho*Wo*N bias adds.
LENET300_FLOPS = {"fc1": 2 * 784 * 300 + 300, "fc2": 2 * 300 * 100 + 100,
                  "fc3": 2 * 100 * 10 + 10}
LENET5_FLOPS = {"conv1": 2 * 28 * 28 * 6 * 25 + 28 * 28 * 6,
                "conv2": 2 * 10 * 10 * 16 * 25 * 6 + 10 * 10 * 16,
                "fc1": 2 * 400 * 120 + 120, "fc2": 2 * 120 * 84 + 84, "fc3": 2 * 84 * 10 + 10}


@pytest.mark.parametrize("fixture, flops", [("lenet300_path", LENET300_FLOPS),
                                            ("lenet5_path", LENET5_FLOPS)])
def test_inspect_json_counts(request, capsys, fixture, flops):
    path = request.getfixturevalue(fixture)
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    model = keras.saving.load_model(path)
    assert report["totals"]["params"] == model.count_params()
    by_name = {row["name"]: row for row in report["layers"]}
    for name, expected in flops.items():
        assert by_name[name]["flops"] == expected
        assert by_name[name]["params"] == model.get_layer(name).count_params()
    assert report["totals"]["flops"] == sum(flops.values())
    assert report["task"] == "classification"
    # the papers' FC memory of the kept layers (SAMOS Table 2): 265,600 and 58,284
    kept = sum(by_name[n]["params"] for n in ("fc1", "fc2"))
    assert kept == (265600 if fixture == "lenet300_path" else 58284)


def test_inspect_table(lenet5_path, capsys):
    assert main(["inspect", str(lenet5_path)]) == 0
    out = capsys.readouterr().out
    assert "conv2d+relu" in out and "dense+softmax" in out
    assert "61706" in out.splitlines()[-2]  # the totals row


def test_errors_exit_2_with_one_line_and_no_traceback(tmp_path):
    (tmp_path / "x.keras").write_text("not a model")
    proc = subprocess.run([sys.executable, "-m", "lrf_edge", "inspect", str(tmp_path / "x.keras")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"lrf-edge: error: '{tmp_path / 'x.keras'}' is not a Keras model file (a .keras file "
        "is a zip archive written by model.save())"]


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "inspect" in out and "example" in out
