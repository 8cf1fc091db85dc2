#!/usr/bin/env python3
"""Renders ci/gate's verdict: OUT/summary.md for a pull-request comment and
OUT/junit.xml (ctest's own JUnit file when there is one, plus a test case per
gate stage). Reads OUT/stages.tsv: name, verdict, seconds, log, note."""
import argparse
import glob
import os
import re
import xml.etree.ElementTree as ET

MARK = {"pass": "✅ pass", "fail": "❌ fail", "skip": "— skipped"}
# Lines of a log that say what failed, by stage.
TELLING = {
    "corpus": re.compile(r"diverges|signature|differs|expected|actual|error"),
    "unit": re.compile(r"FAILED|Failure|Expected|Which is|actual|error"),
    "properties": re.compile(r"FAILED|Falsifiable|failed|counterexample|^\s+(add|reserve|remove|alloc|free|mark|clear)\b"),
    "oracle": re.compile(r"diverges|signature|expected|actual|FAILED"),
}


def read_stages(path):
    stages = []
    for line in open(path):
        name, verdict, seconds, log, note = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
        stages.append({"name": name, "verdict": verdict, "seconds": float(seconds or 0), "log": log, "note": note})
    return stages


def tail(path, lines):
    try:
        return open(path, errors="replace").read().splitlines()[-lines:]
    except OSError:
        return []


def telling_lines(stage, out, limit=40):
    path = os.path.join(out, stage["log"])
    pattern = TELLING.get(stage["name"])
    lines = open(path, errors="replace").read().splitlines() if os.path.exists(path) else []
    if pattern:
        chosen = [line for line in lines if pattern.search(line)]
        if chosen:
            return chosen[:limit]
    return lines[-limit:]


FAILURE_LINES = re.compile(r"Failure|Expected|expected|actual|Which is|seed|signature|divergence|RC_ASSERT|"
                           r"Falsifiable|Sanitizer|error")


def ctest_failures(junit_path):
    """Failing ctest tests grouped by name without the variant: (name, variants, telling lines)."""
    if not os.path.exists(junit_path):
        return []
    groups = {}
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        if case.get("status") == "fail" or case.find("failure") is not None:
            name = case.get("name").split("  #")[0].strip()
            base, _, variant = name.rpartition("/") if "/" in name else (name, "", "")
            output = (case.findtext("system-out") or "").splitlines()
            group = groups.setdefault(base or name, ([], [line for line in output if FAILURE_LINES.search(line)][:12]))
            if variant:
                group[0].append(variant)
    return [(name, variants, lines) for name, (variants, lines) in groups.items()]


def fuzz_findings(out):
    """ci/fuzz's findings grouped by signature: (signature, variants, shortest trace, directory)."""
    groups = {}
    for directory in sorted(glob.glob(os.path.join(out, "fuzz", "*-[0-9]*"))):
        signature_file = os.path.join(directory, "signature")
        signature = open(signature_file).read().strip() if os.path.exists(signature_file) else "?"
        variant = os.path.basename(directory).rsplit("-", 1)[0]
        signature = signature.replace("mbfuzz-signature: ", "").replace(f"{variant} ", "", 1)
        trace = next((os.path.join(directory, name) for name in ("minimized.trace", "finding.trace")
                      if os.path.exists(os.path.join(directory, name))), None)
        lines = tail(trace, 30) if trace else []
        variants, shortest, where = groups.get(signature, ([], None, None))
        if shortest is None or len(lines) < len(shortest):
            shortest, where = lines, os.path.basename(directory)
        groups[signature] = (variants + [variant], shortest, where)
    return [(signature, variants, lines, where) for signature, (variants, lines, where) in groups.items()]


def divergences(path):
    """The divergence reports of `mbfuzz check` in a log: (signature, block of lines)."""
    reports, block = [], None
    for line in open(path, errors="replace").read().splitlines():
        if "divergence at op" in line and not line.startswith(" "):
            block = [line]
            reports.append(block)
        elif block is not None and (line.startswith(" ") or not line):
            block.append(line)
        else:
            block = None
    found = []
    for block in reports:
        signature = next((l.split("signature:", 1)[1].strip() for l in block if "signature:" in l), "?")
        found.append((signature, block))
    return found


def divergence_summary(path):
    found = divergences(path)
    if not found:
        return []
    counts = {}
    for signature, _ in found:
        counts[signature] = counts.get(signature, 0) + 1
    lines = [f"{len(found)} divergence(s), by signature:", "",
             "| signature | traces × variants |", "|---|---:|"]
    lines += [f"| `{signature}` | {count} |" for signature, count in sorted(counts.items(), key=lambda i: -i[1])]
    first = min(found, key=lambda f: len(f[1]))
    return lines + ["", "The shortest report:", "", *fenced(first[1])]


def fenced(lines):
    return ["```", *lines, "```"]


def summary(arguments, stages):
    failed = [s for s in stages if s["verdict"] == "fail"]
    verdict = "❌ **memblock diverges from its specification**" if failed else "✅ **no divergence found**"
    if failed and failed[0]["name"] == "build":
        verdict = "❌ **the tree does not build**"
    lines = [f"## mbfuzz gate: {arguments.subject}", "",
             f"{verdict} ({arguments.mode} mode, {arguments.seconds} s)", "",
             "| stage | verdict | seconds |", "|---|---|---:|"]
    for s in stages:
        note = f" ({s['note']})" if s["verdict"] == "skip" and s["note"] else ""
        lines.append(f"| {s['name']} | {MARK.get(s['verdict'], s['verdict'])}{note} | {s['seconds']:.1f} |")
    if failed and arguments.mode == "quick":
        lines += ["", "Quick mode stops at the first failing stage."]
    for s in failed:
        lines += ["", f"### {s['name']} failed", ""]
        if s["name"] == "tests":
            failures = ctest_failures(os.path.join(arguments.out, "ctest-junit.xml"))
            lines += ["| test | variants |", "|---|---|"]
            lines += [f"| `{name}` | {', '.join(variants) or '-'} |" for name, variants, _ in failures]
            for name, _, output in failures[:3]:
                lines += ["", f"**{name}**", "", *fenced(output)]
            if len(failures) > 3:
                lines += ["", f"({len(failures) - 3} more in `junit.xml`.)"]
            lines.append("")
        elif s["name"] == "fuzz":
            for signature, variants, trace, where in fuzz_findings(arguments.out):
                lines += [f"**{signature}** on {', '.join(variants)} (`fuzz/{where}`)", "", *fenced(trace), ""]
        elif divergence_summary(os.path.join(arguments.out, s["log"])):
            lines += divergence_summary(os.path.join(arguments.out, s["log"]))
        else:
            lines += fenced(telling_lines(s, arguments.out))
            if s["name"] == "oracle":
                for trace in sorted(glob.glob(os.path.join(arguments.out, "oracle-findings", "*.minimized.trace")))[:1]:
                    lines += ["", "Shortest trace (`mbfuzz minimize`):", "", *fenced(tail(trace, 30))]
        lines.append(f"Full log: `{s['log']}`")
    if failed:
        lines += ["", "Reproduce a trace with `mbfuzz check --variant V FILE`; "
                  "`mbfuzz repro --emit-c` turns it into a test for tools/testing/memblock."]
    return "\n".join(lines) + "\n"


def junit(arguments, stages):
    root = ET.Element("testsuites")
    ctest = os.path.join(arguments.out, "ctest-junit.xml")
    if os.path.exists(ctest):
        suite = ET.parse(ctest).getroot()
        root.extend([suite] if suite.tag == "testsuite" else list(suite))
    gate = ET.SubElement(root, "testsuite", name="mbfuzz-gate", tests=str(len(stages)),
                         failures=str(sum(s["verdict"] == "fail" for s in stages)),
                         skipped=str(sum(s["verdict"] == "skip" for s in stages)))
    for s in stages:
        case = ET.SubElement(gate, "testcase", name=s["name"], classname="gate", time=f"{s['seconds']:.1f}")
        if s["verdict"] == "fail":
            failure = ET.SubElement(case, "failure", message=s["note"] or "failed")
            found = divergences(os.path.join(arguments.out, s["log"])) if s["log"] else []
            shortest = min(found, key=lambda f: len(f[1]))[1] if found else telling_lines(s, arguments.out)
            failure.text = "\n".join(shortest)
        elif s["verdict"] == "skip":
            ET.SubElement(case, "skipped", message=s["note"])
    ET.indent(root)
    ET.ElementTree(root).write(os.path.join(arguments.out, "junit.xml"), encoding="utf-8", xml_declaration=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subject", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--stages", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", required=True)
    arguments = parser.parse_args()
    stages = read_stages(arguments.stages)
    with open(os.path.join(arguments.out, "summary.md"), "w") as file:
        file.write(summary(arguments, stages))
    junit(arguments, stages)


if __name__ == "__main__":
    main()
