"""The causal-impact counterfactual on the published ARMA example, the simulated world's KPIs, a
small calibration run, and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from confiance.campaign.impact import (CAUSALIMPACT_LEVEL_PRIOR, MIN_SELECTION_PRE_PERIOD, UNIT_LEVEL_PRIOR,
                                       ImpactModel, causal_impact, prior_name)
from confiance.campaign.kpi_file import pick_series, read_kpi_csv, resolve_intervention
from confiance.errors import ConfianceError, IngestError
from tests.conftest import REAL

ARMA = REAL / "causalimpact-arma" / "arma_data.csv"
PUBLISHED = {"effect": 4.89, "lower": 4.26, "upper": 5.47}  # tfcausalimpact README (SOURCE.md)


def _arma_with_effect(tmp_path: Path) -> Path:
    lines = ARMA.read_text().splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        x, y = line.split(",")
        out.append(f"{x},{float(y) + 5 if i >= 70 else float(y)!r}")
    path = tmp_path / "arma_plus5.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def _arma_result(tmp_path: Path, model: ImpactModel):
    table = read_kpi_csv(_arma_with_effect(tmp_path))
    response, controls = pick_series(table, None, None)
    assert (response, controls) == ("y", ["X"])
    return causal_impact(table.series("y"), resolve_intervention(table, "70"), table.series("X"),
                         response="y", control_names=["X"], model=model)


def test_arma_interval_with_the_default_prior(tmp_path: Path) -> None:
    """Issue 6's acceptance: the default (level prior chosen on the pre-period holdout)."""
    result = _arma_result(tmp_path, ImpactModel())
    a = result.average
    print(f"\nARMA average effect: confiance {a.effect:.2f} [{a.lower:.2f}, {a.upper:.2f}]  "
          f"published {PUBLISHED['effect']} [{PUBLISHED['lower']}, {PUBLISHED['upper']}]  (true 5); "
          f"holdout scores {result.prior_selection.scores}")
    assert a.lower < 5 < a.upper
    assert 3.5 <= a.lower and a.upper <= 6.5
    assert result.prior_selection.holdout_points == 30 and result.prior_selection.fitted_points == 40


def test_arma_flat_prior_is_wider_but_honest(tmp_path: Path) -> None:
    """The flat prior alone cannot rule out a wandering level on 70 points: wider, still covering 5."""
    flat = _arma_result(tmp_path, ImpactModel(level_prior=None))
    chosen = _arma_result(tmp_path, ImpactModel())
    assert flat.prior_selection is None and flat.average.lower < 5 < flat.average.upper
    assert flat.average.upper - flat.average.lower > chosen.average.upper - chosen.average.lower


def test_arma_effect_with_the_causalimpact_prior(tmp_path: Path) -> None:
    """With the R package's level prior (``--level-prior causalimpact``), as in the published run."""
    result = _arma_result(tmp_path, ImpactModel(level_prior=CAUSALIMPACT_LEVEL_PRIOR))
    a = result.average
    assert a.lower < 5 < a.upper
    assert 3.5 <= a.lower and a.upper <= 6.5
    assert a.actual == pytest.approx(125.2288, abs=1e-3)  # the published "Actual"
    assert result.cumulative.actual == pytest.approx(3756.86, abs=0.01)
    assert result.relative.lower < 5 / (a.actual - 5) < result.relative.upper
    assert result.p < 0.01 and result.significant
    assert result.coefficients["X"] == pytest.approx(1.2, abs=0.15)  # y = 1.2 X + noise in the example


def test_cli_impact_json_contract(tmp_path: Path) -> None:
    path = _arma_with_effect(tmp_path)
    done = subprocess.run([sys.executable, "-m", "confiance.cli", "impact", str(path), "--intervention", "70",
                           "--draws", "300", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc = orjson.loads(done.stdout)
    for part in ("average", "cumulative"):
        assert {"actual", "predicted", "effect", "lower", "upper"} <= set(doc[part])
    assert {"effect", "lower", "upper"} <= set(doc["relative"])
    assert 0 <= doc["p"] <= 1
    assert doc["intervention"] == {"index": 70, "time": "2000-03-11"}  # the importer's index dates
    assert doc["assumptions"] and doc["model"].startswith("local level, level sd prior")
    selection = doc["level_prior_selection"]
    assert selection["rule"] == "pre-period holdout"
    assert set(selection["scores"]) == {prior_name(UNIT_LEVEL_PRIOR), "flat"}
    assert selection["chosen"] == max(selection["scores"], key=selection["scores"].get)
    assert doc["average"]["lower"] < 5 < doc["average"]["upper"]
    forced = subprocess.run([sys.executable, "-m", "confiance.cli", "impact", str(path), "--intervention", "70",
                             "--level-prior", "flat", "--draws", "300", "--json"], capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr
    doc = orjson.loads(forced.stdout)
    assert doc["model"].endswith("flat prior on the level sd") and doc["level_prior_selection"] is None


def test_cli_impact_without_controls_says_what_the_counterfactual_rests_on(tmp_path: Path) -> None:
    lines = _arma_with_effect(tmp_path).read_text().splitlines()
    alone = tmp_path / "y_alone.csv"
    alone.write_text("\n".join(line.split(",")[1] for line in lines) + "\n")
    done = subprocess.run([sys.executable, "-m", "confiance.cli", "impact", str(alone), "--intervention", "70",
                           "--draws", "200", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["controls"] == []
    assert "note: no control series" in done.stderr and "--controls" in done.stderr
    with_control = subprocess.run([sys.executable, "-m", "confiance.cli", "impact", str(_arma_with_effect(tmp_path)),
                                   "--intervention", "70", "--draws", "200", "--json"], capture_output=True, text=True)
    assert with_control.returncode == 0 and "note:" not in with_control.stderr


def _drifting_and_still(length: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A control, a KPI whose level wanders away from it (random walk, sd 0.5 a step against a noise
    sd of 1) and one that follows it exactly up to white noise."""
    rng = np.random.default_rng(seed)
    x = 100 + np.cumsum(rng.normal(0, 1, length))
    drifting = 0.8 * x + np.cumsum(rng.normal(0, 0.5, length)) + rng.normal(0, 1, length)
    still = 0.8 * x + rng.normal(0, 1, length)
    return x, drifting, still


def test_default_prior_gives_way_to_a_drift_and_stays_tight_without_one() -> None:
    """CausalImpact's pinned prior misses the zero effect on a drifting KPI; the default widens
    like the flat prior there and stays narrow, with the unit prior, on a KPI that follows its control."""
    x, drifting, still = _drifting_and_still(120, 4)
    average = {}
    for name, y in (("drifting", drifting), ("still", still)):
        for prior in (None, CAUSALIMPACT_LEVEL_PRIOR):
            average[name, prior_name(prior)] = causal_impact(y, 90, x[:, None], draws=200,
                                                             model=ImpactModel(level_prior=prior)).average
        result = causal_impact(y, 90, x[:, None], draws=200)
        average[name, "holdout"] = result.average
        if name == "still":
            assert result.prior_selection.chosen == UNIT_LEVEL_PRIOR
    width = {key: a.upper - a.lower for key, a in average.items()}
    for key, a in average.items():  # the true effect is zero
        assert (a.lower < 0 < a.upper) == (key != ("drifting", "causalimpact")), key
    assert width["drifting", "holdout"] > 0.5 * width["drifting", "flat"]
    assert width["drifting", "holdout"] > 3 * width["drifting", "causalimpact"]
    assert width["still", "holdout"] < 0.75 * width["still", "flat"]


def test_short_pre_period_uses_the_flat_prior() -> None:
    x, _, still = _drifting_and_still(40, 2)
    result = causal_impact(still, MIN_SELECTION_PRE_PERIOD - 1, x[:, None], draws=200)
    assert result.prior_selection.chosen is None and result.prior_selection.scores == {}
    assert result.prior_selection.holdout_points == 0


def test_simulated_world_kpi_effects_recovered(sim_world) -> None:
    world, _, truth = sim_world
    campaign = truth["campaign"]
    table = read_kpi_csv(world / "kpis.csv")  # long shape: series,ts,value,unit
    index = resolve_intervention(table, campaign["intervention_date"])
    assert index == campaign["intervention_index"]
    controls = campaign["kpi"]["controls"]
    for name in campaign["kpi"]["series"]:
        result = causal_impact(table.series(name), index, np.column_stack([table.series(c) for c in controls]),
                               response=name, control_names=controls, draws=500)
        true = campaign["kpi"]["effects"][name]
        print(f"\n{name}: effect {result.average.effect:.1f} [{result.average.lower:.1f}, {result.average.upper:.1f}]"
              f" true {true['effect_per_day']}")
        assert result.average.lower <= true["effect_per_day"] <= result.average.upper
        assert result.cumulative.lower <= true["cumulative"] <= result.cumulative.upper
        assert result.relative.lower <= true["relative"] <= result.relative.upper


@pytest.mark.slow
def test_calibration_small_run() -> None:
    """40 simulated series (the benchmark's generator): coverage and placebo false positives within
    binomial tolerance of the 95% goal (P(≤ 35 of 40 | p = 0.95) ≈ 0.05; ≥ 4 false positives among
    ~13 placebos has probability ≈ 0.01 at a 5% rate)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import impact_calibration as bench

    figures = bench.calibrate(40, seed=1, draws=300)
    print(f"\ncoverage {figures['coverage']:.3f}, false positives {figures['false_positive_rate']:.3f} "
          f"of {figures['placebos']} placebos")
    assert figures["coverage"] >= 36 / 40
    assert figures["false_positive_rate"] * figures["placebos"] <= 3


def test_no_effect_gives_an_interval_around_zero() -> None:
    rng = np.random.default_rng(5)
    x = 50 + np.cumsum(rng.normal(0, 1, 120))
    y = 10 + 0.8 * x + rng.normal(0, 1, 120)
    result = causal_impact(y, 90, x[:, None], draws=300)
    assert result.average.lower < 0 < result.average.upper
    assert not result.significant and result.p > 0.025
    assert result.point_effect.shape == (120,) and np.all(result.cumulative_effect[:90] == 0)


def test_bad_input_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "kpi.csv"
    bad.write_text("date,sales,visits\n2025-01-01,10,100\n2025-01-02,abc,110\n")
    with pytest.raises(IngestError, match=r"kpi\.csv:3: column 'sales': not a number: 'abc'"):
        read_kpi_csv(bad)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("date,sales\n2025-01-01,10,4\n")
    with pytest.raises(IngestError, match=r"ragged\.csv:2: 3 cells"):
        read_kpi_csv(ragged)
    good = tmp_path / "good.csv"
    good.write_text("date,sales,visits\n" + "".join(f"2025-01-{d:02d},{10 + d},{100 + d}\n" for d in range(1, 21)))
    table = read_kpi_csv(good)
    with pytest.raises(ConfianceError, match="outside"):
        resolve_intervention(table, "25")
    with pytest.raises(ConfianceError, match="no pre-period"):
        resolve_intervention(table, "2024-12-01")
    with pytest.raises(ConfianceError, match="no series 'clicks'"):
        pick_series(table, "clicks", None)
    y = table.series("sales")
    with pytest.raises(ConfianceError, match="control 'flat' is constant"):
        causal_impact(y, 15, np.ones((20, 1)), control_names=["flat"])
    with pytest.raises(ConfianceError, match="pre-period has 3"):
        causal_impact(y, 3)
    with pytest.raises(ConfianceError, match="level prior 'tight'"):
        ImpactModel(level_prior="tight")
    with pytest.raises(ConfianceError, match=r"level prior \(0\.01, -1\)"):
        ImpactModel(level_prior=(0.01, -1))
    for season in (1, 0, -3):  # 1 crashed the fit; 0 and -3 were described as seasonal but ignored
        with pytest.raises(ConfianceError, match="a season lasts at least 2 periods"):
            ImpactModel(seasonal=season)
    usage = subprocess.run([sys.executable, "-m", "confiance.cli", "impact", str(good), "--intervention", "15",
                            "--level-prior", "tight", "--json"], capture_output=True, text=True)
    assert usage.returncode == 2 and "--level-prior" in usage.stderr
    done = subprocess.run([sys.executable, "-m", "confiance.cli", "impact", str(bad), "--intervention", "1", "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "kpi.csv:3" in done.stderr


def test_long_file_keeps_its_order_and_refuses_ambiguous_rows(tmp_path: Path) -> None:
    days = [f"2025-01-{d:02d}" for d in range(1, 21)]
    rows = [f"{s},{d},{v + i}" for s, v in (("visits", 100), ("competitor", 50), ("awareness", 10))
            for i, d in enumerate(days)]
    long = tmp_path / "long.csv"
    long.write_text("series,ts,value\n" + "\n".join(rows) + "\n")
    # the file's first series is the default response (sorted, 'awareness', a control, was chosen)
    assert pick_series(read_kpi_csv(long), None, None) == ("visits", ["competitor", "awareness"])
    conflict = tmp_path / "conflict.csv"
    conflict.write_text("series,ts,value\n" + "\n".join(rows) + "\nvisits,2025-01-03,999\n")
    with pytest.raises(IngestError, match=r"conflict\.csv:62: series 'visits' has two values at 2025-01-03: 102 and 999"):
        read_kpi_csv(conflict)
    repeated = tmp_path / "repeated.csv"  # the same row twice is harmless
    repeated.write_text("series,ts,value\n" + "\n".join(rows) + "\nvisits,2025-01-03,102\n")
    assert read_kpi_csv(repeated).series("visits")[2] == 102
    no_value = tmp_path / "no_value.csv"
    no_value.write_text("series,ts,unit\n" + "".join(f"visits,{d},visits\n" for d in days))
    with pytest.raises(IngestError, match=r"no_value\.csv:1: column 'series' holds series names but there is no value"):
        read_kpi_csv(no_value)
