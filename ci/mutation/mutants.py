#!/usr/bin/env python3
"""Mutation operators over mm/memblock.c, placed by clang's own parse.

`list` parses memblock.c exactly as the build compiles it (the numa64
variant's command line from compile_commands.json, run with
`-Xclang -ast-dump=json`), so every site is in code that is compiled: nothing
in a disabled #ifdef branch, nothing inside a macro's body. It prints one
mutant per line as JSON:

  {"id": "memblock_add_range:ror:592:12", "function": ..., "operator": ...,
   "line": ..., "col": ..., "offset": ..., "length": ..., "replacement": ...,
   "before": "...", "after": "..."}

The operators:
  ror       a relational operator moved across its boundary
            (< <=, > >=, == !=, each both ways)
  plus-one  an integer sum or difference, one more: (e) + 1
  minus-one the same, one less: (e) - 1
  drop      an expression statement (a call, an assignment, ++/--) removed;
            not a printk, nor a call of kmemleak (the leak detector's books)
  min-max   min <-> max, min_t <-> max_t
  rounding  round_up <-> round_down, PFN_UP <-> PFN_DOWN

`apply ORIGINAL ID...` prints ORIGINAL with the mutants named applied
(the edits of one run must not overlap).
"""
import argparse
import json
import re
import shlex
import subprocess
import sys

RELATIONAL = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
ADDITIVE = {"+", "-"}
ASSIGNMENT = {"=", "+=", "-=", "*=", "/=", "|=", "&=", "^=", "<<=", ">>="}
SWAPS = {"min-max": {"min": "max", "max": "min", "min_t": "max_t", "max_t": "min_t"},
         "rounding": {"round_up": "round_down", "round_down": "round_up",
                      "PFN_UP": "PFN_DOWN", "PFN_DOWN": "PFN_UP"}}
# Calls outside memblock's behaviour, whose drop no test should notice:
# output, and kmemleak's bookkeeping (the leak detector's, not memblock's).
OUTSIDE_MEMBLOCK = re.compile(r"^(_?printk|mb_kernel_printk|pr_\w+|dump_stack|seq_printf|kmemleak_\w+)$")


def memblock_command(compile_commands, variant):
    for entry in json.load(open(compile_commands)):
        command = entry.get("command") or shlex.join(entry["arguments"])
        if entry["file"].endswith("core/kernel/bridge.c") and f"-DMB_VARIANT={variant}" in command:
            return shlex.split(command), entry["directory"]
    sys.exit(f"mutants.py: {compile_commands}: no compile command for bridge.c of variant {variant}")


def parse(compile_commands, variant):
    args, directory = memblock_command(compile_commands, variant)
    # Keep the preprocessor and language options; drop output, warnings-as-errors and sanitizers.
    kept, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
            continue
        if arg in ("-o", "-c"):
            skip = arg == "-o"
            continue
        if arg.startswith(("-fsanitize", "-Werror", "-fprofile", "-fcoverage")):
            continue
        kept.append(arg)
    out = subprocess.run(["clang-14", "-fsyntax-only", "-Xclang", "-ast-dump=json", *kept],
                         cwd=directory, capture_output=True, check=True)
    return json.loads(out.stdout)


def resolve_files(node, state):
    """clang prints a location's file only when it changes: fill it in, in print order."""
    if isinstance(node, dict):
        if "offset" in node:
            if "file" in node:
                state["file"] = node["file"]
            node["_file"] = state["file"]
        for value in node.values():
            resolve_files(value, state)
    elif isinstance(node, list):
        for value in node:
            resolve_files(value, state)


def spelled(location, in_file):
    """The offset of a location as written in memblock.c (a macro argument counts), or None."""
    loc = location.get("spellingLoc", location)
    return loc["offset"] if loc.get("_file", "").endswith(in_file) else None


def extent(node, in_file):
    """[begin, end) of a node's text in memblock.c, or None if it is not written there."""
    begin, end = node.get("range", {}).get("begin"), node.get("range", {}).get("end")
    if not begin or not end:
        return None
    b, e = spelled(begin, in_file), spelled(end, in_file)
    if b is None or e is None:
        return None
    return b, e + end.get("spellingLoc", end)["tokLen"]


class Sites:
    def __init__(self, source, in_file, skip_functions):
        self.source, self.in_file, self.skip = source, in_file, skip_functions
        self.mutants = []

    def add(self, function, operator, offset, length, replacement):
        line = self.source.count("\n", 0, offset) + 1
        col = offset - (self.source.rfind("\n", 0, offset) + 1) + 1
        before = self.source[offset:offset + length]
        mutant_id = f"{function}:{operator}:{line}:{col}"
        self.mutants.append({"id": mutant_id, "function": function, "operator": operator,
                             "line": line, "col": col, "offset": offset, "length": length,
                             "replacement": replacement, "before": before, "after": replacement})

    def visit(self, node, function=None, parent_kind=None):
        kind = node.get("kind")
        if kind == "FunctionDecl" and "inner" in node:
            location = node.get("loc", {})
            if not location.get("_file", "").endswith(self.in_file) or node["name"] in self.skip:
                return
            function = node["name"]
            body = next((c for c in node["inner"] if c.get("kind") == "CompoundStmt"), None)
            if body and (span := extent(body, self.in_file)):
                self.swaps(function, *span)
        if function:
            if kind == "BinaryOperator":
                self.binary(function, node)
            if parent_kind == "CompoundStmt":
                self.statement(function, node)
        for child in node.get("inner", []):
            self.visit(child, function, kind)

    def binary(self, function, node):
        opcode = node["opcode"]
        lhs, rhs = node["inner"]
        lhs_span, rhs_span = extent(lhs, self.in_file), extent(rhs, self.in_file)
        if not lhs_span or not rhs_span:
            return
        between = self.source[lhs_span[1]:rhs_span[0]]
        stripped = between.strip(" \t\n()")
        if stripped != opcode:
            return
        offset = lhs_span[1] + between.index(opcode)
        if opcode in RELATIONAL:
            self.add(function, "ror", offset, len(opcode), RELATIONAL[opcode])
        elif opcode in ADDITIVE and "*" not in node["type"]["qualType"]:
            whole = extent(node, self.in_file)
            if whole:
                text = self.source[whole[0]:whole[1]]
                self.add(function, "plus-one", whole[0], whole[1] - whole[0], f"({text}) + 1")
                self.add(function, "minus-one", whole[0], whole[1] - whole[0], f"({text}) - 1")

    def statement(self, function, node):
        kind = node.get("kind")
        droppable = (kind == "CallExpr" or kind == "CompoundAssignOperator"
                     or (kind == "BinaryOperator" and node["opcode"] in ASSIGNMENT)
                     or (kind == "UnaryOperator" and node["opcode"] in ("++", "--")))
        if not droppable:
            return
        if kind == "CallExpr" and OUTSIDE_MEMBLOCK.match(callee(node) or ""):
            return
        span = extent(node, self.in_file)
        if span:
            self.add(function, "drop", span[0], span[1] - span[0], "(void)0")

    def swaps(self, function, begin, end):
        body = self.source[begin:end]
        for operator, table in SWAPS.items():
            for match in re.finditer(r"\b(" + "|".join(table) + r")\s*\(", body):
                if inside_comment(body, match.start()):
                    continue
                name = match.group(1)
                self.add(function, operator, begin + match.start(), len(name), table[name])


def callee(call):
    node = call["inner"][0]
    while node.get("inner") and node.get("kind") in ("ImplicitCastExpr", "ParenExpr"):
        node = node["inner"][0]
    return node.get("referencedDecl", {}).get("name")


def inside_comment(text, position):
    opened = text.rfind("/*", 0, position)
    return opened != -1 and text.rfind("*/", 0, position) < opened


def read_skip(path):
    if not path:
        return set()
    names = set()
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("|", 1)[0].strip())
    return names


def command_list(arguments):
    ast = parse(arguments.compile_commands, arguments.variant)
    resolve_files(ast, {"file": ""})
    source = open(arguments.source).read()
    sites = Sites(source, "mm/memblock.c", read_skip(arguments.skip))
    sites.visit(ast)
    seen = set()
    for mutant in sorted(sites.mutants, key=lambda m: (m["offset"], m["operator"])):
        if mutant["id"] in seen:  # a site reached twice (a macro argument expanded twice)
            continue
        seen.add(mutant["id"])
        if arguments.functions and not re.search(arguments.functions, mutant["function"]):
            continue
        print(json.dumps(mutant))


def command_apply(arguments):
    source = open(arguments.original).read()
    wanted = set(arguments.ids)
    chosen = [json.loads(line) for line in open(arguments.mutants) if json.loads(line)["id"] in wanted]
    if len(chosen) != len(wanted):
        missing = wanted - {m["id"] for m in chosen}
        sys.exit(f"mutants.py: {arguments.mutants}: no mutant {', '.join(sorted(missing))}")
    for mutant in sorted(chosen, key=lambda m: -m["offset"]):
        start, stop = mutant["offset"], mutant["offset"] + mutant["length"]
        if source[start:stop] != mutant["before"]:
            sys.exit(f"mutants.py: {mutant['id']}: {arguments.original} differs from the listed source")
        source = source[:start] + mutant["replacement"] + source[stop:]
    sys.stdout.write(source)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print every mutant of memblock.c as a JSON line")
    listing.add_argument("--compile-commands", required=True, help="a build's compile_commands.json")
    listing.add_argument("--source", required=True, help="the memblock.c that build compiles")
    listing.add_argument("--variant", default="numa64")
    listing.add_argument("--skip", help="functions to leave alone: lines 'name|reason'")
    listing.add_argument("--functions", help="only functions matching this regular expression")
    listing.set_defaults(run=command_list)
    applying = commands.add_parser("apply", help="print ORIGINAL with mutants applied")
    applying.add_argument("mutants", help="the output of list")
    applying.add_argument("original")
    applying.add_argument("ids", nargs="+")
    applying.set_defaults(run=command_apply)
    arguments = parser.parse_args()
    arguments.run(arguments)


if __name__ == "__main__":
    main()
