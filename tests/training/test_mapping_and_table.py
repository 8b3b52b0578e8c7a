"""Training mappings and CSVs: a problem names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadledger.domain.predict.features import FeatureKind
from leadledger.services.training.mapping import (
    MappingInvalid,
    builtin_training_mappings,
    load_training_mapping,
    parse_training_mapping,
)
from leadledger.services.training.table import TrainingDataInvalid, read_lead_table
from tests.training.synthetic import MAPPING, write_leads


def test_a_mapping_reads_kinds_leaky_columns_and_missing_tokens() -> None:
    m = parse_training_mapping(MAPPING, "synthetic.yaml")
    assert (m.outcome_column, m.positive, m.negative, m.order_column) == ("Won", {"yes"}, {"no"}, "Created")
    assert [(s.name, s.kind) for s in m.features][:2] == [("Source", FeatureKind.categorical),
                                                          ("Visits", FeatureKind.numeric)]
    assert [s.name for s in m.columns(include_leaky=True)][-1] == "Sales Note"
    assert "Sales Note" not in [s.name for s in m.columns(include_leaky=False)]
    assert m.missing == {"Select"}


def test_a_bad_kind_names_the_file_line_and_key() -> None:
    text = MAPPING.replace("Visits: numeric", "Visits: number")
    with pytest.raises(MappingInvalid) as e:
        parse_training_mapping(text, "my-map.yaml")
    assert "my-map.yaml, line 10: features.Visits" in str(e.value)
    assert "categorical" in str(e.value)  # the allowed kinds are listed


def test_unknown_keys_missing_outcome_and_bad_yaml_are_named() -> None:
    with pytest.raises(MappingInvalid, match=r"line 1: colour: Extra inputs"):
        parse_training_mapping("colour: red\n" + MAPPING, "m.yaml")
    without_outcome = MAPPING.replace("outcome:\n  column: Won\n  positive: [yes]\n  negative: [no]\n", "")
    with pytest.raises(MappingInvalid, match=r"outcome: Field required"):
        parse_training_mapping(without_outcome, "m.yaml")
    with pytest.raises(MappingInvalid, match=r"m.yaml, line 2: not valid YAML: found duplicate key"):
        parse_training_mapping("name: x\nname: y\n", "m.yaml")
    with pytest.raises(MappingInvalid, match=r"Sales Note cannot be both a feature and leaky"):
        twice = MAPPING.replace("  Region: categorical", "  Sales Note: categorical")
        parse_training_mapping(twice, "m.yaml")


def test_unknown_mapping_name_lists_the_built_ins(tmp_path: Path) -> None:
    assert "x-education" in builtin_training_mappings()
    with pytest.raises(MappingInvalid, match=r"not a built-in training mapping \(x-education\)"):
        load_training_mapping(str(tmp_path / "nope.yaml"))


def test_a_csv_is_read_with_missing_values_outcomes_and_time_order(tmp_path: Path) -> None:
    data, mapping_file = write_leads(tmp_path, n=40)
    table = read_lead_table(data, load_training_mapping(str(mapping_file)))
    assert len(table) == 40
    assert table.lines[:2] == [2, 3]
    assert table.order is not None and table.order[:3] == [0, 1, 2]  # Created counts up
    sources = table.columns["Source"]
    assert None in sources and "Select" not in sources  # the form default reads as missing
    assert "Sales Note" not in table.columns
    with_leaky = read_lead_table(data, load_training_mapping(str(mapping_file)), include_leaky=True)
    assert "Sales Note" in with_leaky.columns


def _rewrite(path: Path, line: int, column: int, value: str) -> None:
    rows = path.read_text(encoding="utf-8").splitlines()
    cells = rows[line - 1].split(",")
    cells[column] = value
    rows[line - 1] = ",".join(cells)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_csv_problems_name_the_file_line_and_column(tmp_path: Path) -> None:
    data, mapping_file = write_leads(tmp_path, n=20)
    mapping = load_training_mapping(str(mapping_file))
    _rewrite(data, 5, 3, "lots")  # Visits
    _rewrite(data, 9, 7, "perhaps")  # Won
    with pytest.raises(TrainingDataInvalid) as e:
        read_lead_table(data, mapping)
    message = str(e.value)
    assert f"{data}, line 5: column 'Visits' (numeric): 'lots' is not a number" in message
    assert f"{data}, line 9: column 'Won': outcome 'perhaps' is neither positive (yes) nor negative (no)" \
        in message


def test_a_missing_column_names_the_mapping_key(tmp_path: Path) -> None:
    data, mapping_file = write_leads(tmp_path, n=5)
    text = data.read_text(encoding="utf-8").replace("Opted Out", "Unsubscribed", 1)
    data.write_text(text, encoding="utf-8")
    with pytest.raises(TrainingDataInvalid, match=r"line 1: column\(s\) 'Opted Out' \(mapping features\)"):
        read_lead_table(data, load_training_mapping(str(mapping_file)))


def test_rows_without_outcome_are_skipped_and_counted(tmp_path: Path) -> None:
    data, mapping_file = write_leads(tmp_path, n=10)
    _rewrite(data, 4, 7, "")
    table = read_lead_table(data, load_training_mapping(str(mapping_file)))
    assert (len(table), table.skipped) == (9, 1)
    assert 4 not in table.lines
