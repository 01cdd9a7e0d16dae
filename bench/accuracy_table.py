"""The README's accuracy tables, generated from the benches' JSON output.

Reads bench/results/accuracy_code.json (python bench/accuracy_code.py),
accuracy_text.json (python bench/accuracy_text.py) and evasion.json
(python bench/evasion.py), with dolos_ai_obfuscation.json (python
bench/dolos_ai_obfuscation.py) as an anchor; prints the Markdown, and with --write replaces the
block between the README's accuracy markers. Anchors (published figures and
the Dolos run on this machine) sit beside each figure.

Selection rules, so that no figure is tuned on what it reports:
- ConPlag: the (config, score) with the best TRAIN F1.5, its threshold from
  TRAIN, reported on TEST; and the sweep's single recommended (config, score).
- IR-Plag, SOCO, the AI-obfuscation set, Clough & Stevenson have no split:
  their best-config figures are tuned on the data itself (marked "tuned on
  the data"); the recommended / default rows are not tuned per set.
- PAN 2013: the setting chosen on the training corpus, reported on test.

Usage (from the repo root): python bench/accuracy_table.py [--write]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


RESULTS_DIR = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- accuracy:begin (python bench/accuracy_table.py --write) -->", "<!-- accuracy:end -->"

# ConPlag paper (Slobodkin & Sadovnikov), best F1.5 per tool on the test split.
CONPLAG_PUBLISHED = {"conplag_v1": "JPlag 0.80, MOSS 0.77, Dolos 0.71", "conplag_v2": "JPlag 0.86, Dolos 0.85"}
# AUROC of JPlag (Base) on the same pairs, from the study's published raw results
# (../shared/datasets/jplag-emse25-ai-obfuscation/README.md; recomputed by accuracy_code.py).
JPLAG_AI = {"Progpedia19_insert": 0.783, "Progpedia19_refactor": 0.916, "Progpedia19_gptobf": 0.922,
            "Progpedia56_insert": 0.941, "Progpedia56_refactor": 0.816, "Progpedia56_gptobf": 0.982,
            "z5z1_insert": 0.823, "z5z1_gptobf": 0.719, "z5z5_insert": 0.729, "z5z5_gptobf": 0.903}
TARGETS = {"conplag_v1": 0.90, "conplag_v2": 0.90, "irplag": 0.95}


def load(name: str) -> dict | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def met(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f">= {target:.2f}: {'met' if value >= target else '**not met**'}"


def code_rows(code: dict) -> list[list[str]]:
    rows = []
    results = [e for e in code["results"] if "jaccard" in next(iter(e["metrics"].values()))]
    rec = code["recommended"]["row"]
    by_config = {e["config"]: e for e in results}
    dolos = code["dolos"]
    for name, label in (("conplag_v1", "ConPlag raw, test"), ("conplag_v2", "ConPlag template-free, test")):
        train_best = max(((e["config"], s, m) for e in results for s, m in e["metrics"][name].items()),
                         key=lambda c: c[2]["train_best"]["f"])
        test = train_best[2]["test_at_train_threshold"]["f"]
        recommended = by_config[rec["config"]]["metrics"][name][rec["score"]]
        rows.append([label, "F1.5 at the TRAIN threshold",
                     f"**{test:.3f}** ({train_best[0]}, {train_best[1]}; chosen on train); recommended "
                     f"{recommended['test_at_train_threshold']['f']:.3f}",
                     f"Dolos here {dolos[name]['test_f']:.3f}; published {CONPLAG_PUBLISHED[name]}",
                     met(test, TARGETS[name])])
        rows.append([label, "ROC AUC", f"{train_best[2]['auc_test']:.3f} (same); recommended "
                     f"{recommended['auc_test']:.3f}", f"Dolos here {dolos[name]['test_auc']:.3f}", ""])
    ir = max(((e["config"], s, m) for e in results for s, m in e["metrics"]["irplag"].items()),
             key=lambda c: c[2]["best_f1"]["f"])
    b = ir[2]["best_f1"]
    levels = " ".join(f"{ir[2]['per_level'][f'L{i}']['recall_at_t']:.2f}" for i in range(1, 7))
    rows.append(["IR-Plag", "best F1 (P / R); recall L1-L6",
                 f"**{b['f']:.3f}** ({b['precision']:.2f} / {b['recall']:.2f}; {ir[0]}, {ir[1]}; tuned on the "
                 f"data; flag-all F1 {ir[2]['flag_all_f1']:.3f}); {levels}",
                 f"Dolos here {dolos['irplag']['f1']:.3f}; "
                 + " ".join(f"{x:.2f}" for x in dolos["irplag"]["level_recall"]), met(b["f"], TARGETS["irplag"])])
    for name, label in (("soco_java", "SOCO 2014 train, Java"), ("soco_c", "SOCO 2014 train, C")):
        best = max(((e["config"], s, m) for e in results for s, m in e["metrics"][name].items()),
                   key=lambda c: c[2]["best_f1"]["f"])
        b = best[2]["best_f1"]
        rows.append([label, "best F1 (P / R), all pairs",
                     f"**{b['f']:.3f}** ({b['precision']:.2f} / {b['recall']:.2f}; {best[0]}, {best[1]}; tuned on "
                     "the data)", f"Dolos here {dolos[name]['f1']:.3f}", ""])
    ai = [n for n in next(iter(results))["metrics"] if n.startswith("aiobf_")]
    dolos_ai = (load("dolos_ai_obfuscation") or {}).get("sets", {})
    if ai:
        for attack in ("insert", "refactor", "gptobf"):
            names = [n for n in ai if n.endswith(f"_{attack}")]
            ours = [by_config[rec["config"]]["metrics"][n][rec["score"]]["auc"] for n in names]
            jplag = [JPLAG_AI[n.removeprefix("aiobf_")] for n in names]
            rows.append([f"JPlag AI-obfuscation set, {attack}", f"ROC AUC per task set ({len(names)})",
                         f"**{' '.join(f'{x:.3f}' for x in ours)}** (recommended {rec['config']}, {rec['score']}; "
                         "not tuned on these)", "JPlag " + " ".join(f"{x:.3f}" for x in jplag)
                         + ("; Dolos here " + " ".join(f"{dolos_ai[n.removeprefix('aiobf_')]['dolos_auc']:.3f}"
                                                       for n in names) if dolos_ai else ""), ""])
    return rows


PAN_COLUMNS = (("02-no-obfuscation", "no obfuscation", 0.95), ("03-random-obfuscation", "random", 0.90),
               ("04-translation-obfuscation", "translation", None), ("05-summary-obfuscation", "summary", None),
               ("entire", "entire", 0.88))


def protocol_met(test: dict, pan: dict, key: str, target: float | None) -> str:
    """Issue 7's PAN protocol is through the index (every source indexed, each suspicious
    document a query): the target is judged on that row at the default number of aligned
    documents; the best setting when there is no such row."""
    protocol = next((x for x in test if "reworded prose, through the index" in x
                     and "--reworded-candidates" not in x), None)
    if protocol is None:
        return met(max(test[pan["default"]][key]["plagdet"], test[pan["chosen"]][key]["plagdet"]), target)
    verdict = met(test[protocol][key]["plagdet"], target)
    return verdict + " (through the index)" if verdict else verdict


def text_rows(text: dict) -> list[list[str]]:
    rows = []
    pan = text.get("pan")
    if pan:
        test = pan["corpora"]["test"]["by_setting"]
        published = text["published"]
        through_index = [(f"through the index, {m.group(1)} aligned", x) for x in test
                         if "reworded prose, through the index" in x and (m := re.search(r"(\d+) aligned", x))]
        reworded = [(f"reworded prose aligned too, {how}", label) for how, label in (
            ("pairs given", next((x for x in test if "reworded prose, pairs given" in x), None)), *through_index)
            if label and label != pan["chosen"]]
        for key, label, target in PAN_COLUMNS:
            default, chosen = test[pan["default"]][key]["plagdet"], test[pan["chosen"]][key]["plagdet"]
            extra = [(name, test[setting][key]["plagdet"]) for name, setting in reworded]
            rows.append([f"PAN 2013 test corpus 2, {label}", "plagdet",
                         f"**{default:.3f}** default ({pan['default']}); {chosen:.3f} chosen on train "
                         f"({pan['chosen']})" + "".join(f"; **{v:.3f}** {name}" for name, v in extra),
                         f"Sanchez-Perez 2014 {published['Sanchez-Perez 2014'][key]:.3f}; best 2013 field "
                         f"{published['best per column (2013 field)'][key]:.3f}",
                         protocol_met(test, pan, key, target)])
    clough = text.get("clough")
    if clough:
        k = text.get("context", {}).get("text_k", 8)  # the default k of prose when the bench ran
        by_k = clough[f"k{k}"]
        rows.append(["Clough & Stevenson", "AUC vs independent (containment), cut / light / heavy",
                     " / ".join(f"{by_k[c]['containment_auc_vs_non']:.3f}" for c in ("cut", "light", "heavy"))
                     + f" (k{k}); blocked at the default policy: "
                     + " / ".join(f"{by_k[c]['blocked_at_default_policy']:.2f}" for c in ("cut", "light", "heavy", "non")),
                     "(no published AUC; 4 levels)", ""])
    return rows


def evasion_rows(evasion: dict) -> list[str]:
    rows = []
    for kind in ("code", "prose"):
        for name, e in evasion[kind].items():
            rows.append([kind, name, f"{e['caught_lang_given']:.3f}", f"{e['caught']:.3f}",
                         f"{e['caught_big']:.3f}", f"{e['caught_if_verbatim_caught']:.3f}"])
    return rows


def alternative_summary(alt: dict, default: dict) -> str:
    """The figures that move against the default run: rewrites of code, word substitution, false blocks."""
    moved = [f"{kind} {name} {alt[kind][name]['caught_lang_given']:.3f} (default "
             f"{default[kind][name]['caught_lang_given']:.3f})"
             for kind, name in (("code", "none (verbatim copy)"), ("code", "function reordering"),
                                ("code", "dead-code insertion"), ("code", "all of the above"),
                                ("prose", "10% word substitution"), ("prose", "rewording (30% of words edited)"))
             if name in alt[kind] and name in default[kind]]
    moved += [f"false blocks, {name} {e['blocked']:.3f} (default {default['false_blocks'][name]['blocked']:.3f})"
              for name, e in alt["false_blocks"].items()]
    return "; ".join(moved) + "."


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(r) + " |" for r in rows])


def render() -> str:
    code, text, evasion = load("accuracy_code"), load("accuracy_text"), load("evasion")
    lines = [BEGIN, ""]
    rows = (code_rows(code) if code else []) + (text_rows(text) if text else [])
    if rows:
        commands = [c["context"]["command"] for c in (code, text) if c]
        lines += [f"From `{'`, `'.join(commands)}` ({', '.join(c['context']['date'] for c in (code, text) if c)}; "
                  "2-core VM shared with other jobs; details in `bench/results/accuracy_code.md` and "
                  "`accuracy_text.md`). Dolos 3.5.1 was run on the same pairs on this machine "
                  "(`../shared/peers/dolos`; on the AI-obfuscation set `bench/dolos_ai_obfuscation.py`).", "",
                  *table(["data set", "metric", "dedupfilter", "anchors", "target (issue 7)"], rows), ""]
    if evasion:
        fb = "; ".join(f"{name} {e['blocked']:.3f} (n {e['n']})" for name, e in evasion["false_blocks"].items())
        lines += [f"Evasion at the default policy, from `{evasion['context']['command']}` "
                  f"({evasion['context']['date']}; `bench/results/evasion.md`): share of attacked copies of "
                  f"protected code (excerpts of {evasion['n_protected_modules']} standard-library modules) and "
                  "prose (help-topic paragraphs) still blocked. Target: >= 0.99 for every non-semantic attack.", "",
                  *table(["kind", "attack", "caught", "caught, language not given",
                          f"caught, units of {evasion['big_code_tokens']}+ (code) / {evasion['big_prose_tokens']}+ "
                          "(prose) tokens",
                          "caught where the verbatim copy is"], evasion_rows(evasion)), "",
                  f"False blocks on unrelated documents, same index and policy: {fb}.", ""]
        for path in sorted(RESULTS_DIR.glob("evasion_*.json")):
            alt = json.loads(path.read_text())
            lines += [f"Other settings, same bench (`{alt['context']['command']}`, k {alt['k']} for code and "
                      f"{alt.get('prose_k', alt['k'])} for prose, passage limit "
                      f"{alt['min_match_tokens']} tokens, {alt.get('min_match_words', alt['min_match_tokens'])} "
                      f"words as prose, piece gap {alt.get('piece_gap', 0)} tokens): "
                      + alternative_summary(alt, evasion), ""]
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the block between the README markers")
    args = parser.parse_args(argv)
    block = render()
    print(block)
    if args.write:
        readme = README.read_text()
        if BEGIN not in readme or END not in readme:
            print(f"{README}: accuracy markers not found", file=sys.stderr)
            return 2
        head, rest = readme.split(BEGIN, 1)
        README.write_text(head + block + rest.split(END, 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
