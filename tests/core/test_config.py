from pathlib import Path

import pytest

from core.config import load_config, parse_config
from core.errors import ConfigError


def test_an_absent_config_is_empty():
    assert load_config(None).data == {}


def test_paths_are_relative_to_the_config_file(tmp_path: Path):
    path = tmp_path / "opsloop.yml"
    path.write_text("scrape_configs: []\n")
    cfg = load_config(path)
    assert cfg.base_dir == tmp_path
    assert cfg.section("scrape_configs") == []


def test_invalid_yaml_names_the_line():
    with pytest.raises(ConfigError, match=r"line 2: invalid YAML"):
        parse_config("scrape_configs:\n  - job_name: a: b\n")


def test_an_unknown_section_is_refused():
    with pytest.raises(ConfigError, match=r"unknown section.*scrape_config"):
        parse_config("scrape_config: []\n")


def test_the_top_level_must_be_a_mapping():
    with pytest.raises(ConfigError, match="mapping"):
        parse_config("- a\n- b\n")
