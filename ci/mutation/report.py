#!/usr/bin/env python3
"""Renders ci/mutation/score's verdicts as a Markdown report: the score of
mbfuzz's quick gate and of the kernel's own memblock suite, per operator and
in all; every surviving mutant; every equivalent one with its reason."""
import argparse
import collections
import json
import statistics


def read_equivalent(path):
    reasons = {}
    try:
        for line in open(path):
            line = line.strip()
            if line and not line.startswith("#"):
                mutant_id, reason = line.split("|", 1)
                reasons[mutant_id.strip()] = reason.strip()
    except FileNotFoundError:
        pass
    return reasons


def percent(part, whole):
    return f"{100 * part / whole:.1f}%" if whole else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mutants", required=True)
    parser.add_argument("--verdicts", required=True)
    parser.add_argument("--suite-verdicts", required=True)
    parser.add_argument("--equivalent", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minimum", type=float, default=95.0)
    arguments = parser.parse_args()

    mutants = {m["id"]: m for m in map(json.loads, open(arguments.mutants))}
    suite = {}
    for line in open(arguments.suite_verdicts):
        mutant_id, verdict, seconds = line.rstrip("\n").split("\t")
        suite[mutant_id] = (verdict, float(seconds))
    verdicts = {}
    for line in open(arguments.verdicts):
        mutant_id, verdict, stage, seconds = line.rstrip("\n").split("\t")
        if mutant_id in mutants:
            suite_verdict, suite_seconds = suite.get(mutant_id, ("-", 0.0))
            verdicts[mutant_id] = dict(verdict=verdict, stage=stage, seconds=float(seconds),
                                       suite=suite_verdict, suite_seconds=suite_seconds)
    listed = read_equivalent(arguments.equivalent)
    unobservable = {i: r for i, r in listed.items() if r.startswith("unobservable:")}
    equivalent = {i: r for i, r in listed.items() if i not in unobservable}
    problems = [f"{i} is listed as equivalent but mbfuzz kills it" for i in listed
                if verdicts.get(i, {}).get("verdict") == "killed"]

    rows = collections.defaultdict(collections.Counter)
    for mutant_id, v in verdicts.items():
        operator = mutants[mutant_id]["operator"]
        for key in (operator, "all"):
            row = rows[key]
            row["mutants"] += 1
            if v["verdict"] == "stillborn":
                row["stillborn"] += 1
                continue
            if mutant_id in equivalent:
                row["equivalent"] += 1
                continue
            if mutant_id in unobservable:
                row["unobservable"] += 1
                continue
            row["judged"] += 1
            row["mbfuzz"] += v["verdict"] == "killed"
            row["suite"] += v["suite"] == "killed"
            row["suite judged"] += v["suite"] in ("killed", "survived")

    lines = ["# Mutation score of memblock.c", "",
             f"{len(verdicts)} of {len(mutants)} mutants judged. A mutant is killed when the check fails;",
             "*judged* excludes stillborn (does not compile) and equivalent mutants.", "",
             "*Unobservable* mutants change only what the userspace builds stub out (struct pages, zones);",
             "they are left out of *judged* too, and the last line counts them as survivors.", "",
             "| operator | mutants | stillborn | equivalent | unobservable | judged | mbfuzz kills | score | kernel suite kills | score |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(rows, key=lambda k: (k == "all", k)):
        r = rows[key]
        name = "**all**" if key == "all" else key
        lines.append(f"| {name} | {r['mutants']} | {r['stillborn']} | {r['equivalent']} | {r['unobservable']} | {r['judged']} | "
                     f"{r['mbfuzz']} | {percent(r['mbfuzz'], r['judged'])} | {r['suite']} | "
                     f"{percent(r['suite'], r['suite judged'])} |")
    everything = rows["all"]["judged"] + rows["all"]["unobservable"]
    lines += ["", f"Counting the unobservable mutants as survivors: mbfuzz {rows['all']['mbfuzz']}/{everything} "
              f"({percent(rows['all']['mbfuzz'], everything)})."]
    kill_times = [v["seconds"] for v in verdicts.values() if v["verdict"] == "killed"]
    if kill_times:
        by_stage = collections.Counter(v["stage"] for v in verdicts.values() if v["verdict"] == "killed")
        lines += ["", f"Time to kill (mbfuzz, testing stages only): median {statistics.median(kill_times):.1f} s, "
                  f"max {max(kill_times):.1f} s. Killed first by: "
                  + ", ".join(f"{stage} {count}" for stage, count in by_stage.most_common()) + "."]

    def describe(mutant_id):
        m = mutants[mutant_id]
        return f"`{m['before'].strip()}` → `{m['after'].strip()}`"

    survivors = [i for i, v in verdicts.items() if v["verdict"] == "survived" and i not in listed]
    lines += ["", f"## Surviving mutants ({len(survivors)})", ""]
    lines += [f"- `{i}`: {describe(i)} (kernel suite: {verdicts[i]['suite']})" for i in survivors] or ["None."]
    for title, chosen in (("Equivalent mutants", equivalent), ("Unobservable in userspace", unobservable)):
        present = [i for i in chosen if i in verdicts]
        lines += ["", f"## {title} ({len(present)})", ""]
        lines += [f"- `{i}`: {describe(i)}: {chosen[i]}" for i in present] or ["None."]
    lines += ["", "## Every mutant", "", "| mutant | change | mbfuzz | stage | s | kernel suite | s |",
              "|---|---|---|---|---:|---|---:|"]
    for mutant_id, v in verdicts.items():
        change = describe(mutant_id).replace("|", "\\|")
        lines.append(f"| `{mutant_id}` | {change} | {v['verdict']} | {v['stage']} | "
                     f"{v['seconds']:.1f} | {v['suite']} | {v['suite_seconds']:.1f} |")
    if problems:
        lines += ["", "## Errors", ""] + [f"- {p}" for p in problems]
    open(arguments.out, "w").write("\n".join(lines) + "\n")

    r = rows["all"]
    score = 100 * r["mbfuzz"] / r["judged"] if r["judged"] else 0.0
    print(f"mutation score: mbfuzz {r['mbfuzz']}/{r['judged']} ({score:.1f}%), kernel suite "
          f"{r['suite']}/{r['suite judged']} ({percent(r['suite'], r['suite judged'])}); "
          f"{r['equivalent']} equivalent, {r['unobservable']} unobservable, {r['stillborn']} stillborn; "
          f"report: {arguments.out}")
    for problem in problems:
        print(f"error: {problem}")
    raise SystemExit(0 if score >= arguments.minimum and not problems else 1)


if __name__ == "__main__":
    main()
