#!/usr/bin/env python3
"""Do two llm-bench binaries write the same outputs? (issue #24: "no behaviour change")

Runs the default benchmark (`llm-bench run`, the built-in simulator, the shipped
configs) once with each binary and compares what a run writes, leaving out what
differs between any two runs of one binary: timestamps, run ids, measured
durations and the numbers computed from them. Compared exactly:

  * the files written (names);
  * run.json with ids, times, clocks and host fields blanked;
  * every row's keys, and the deterministic fields of each row (scenario, trial,
    index, ok, status, error kind, token counts, chunks, token source);
  * summary.json's key paths (every nested key), and its counts;
  * report.md and the console table with every number masked, summary.csv's header.

The client-limited self-check depends on how busy the host was, so what only it
writes is left out: a row's `client_stall`, `client_health.reasons`, and report
lines that mention it. Run on a quiet host all the same.

  scripts/same_outputs.py OLD_BINARY NEW_BINARY [--requests N]

Exit 0 when everything compared is equal; otherwise the differences, exit 1.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROW_FIELDS = ["scenario", "trial", "index", "warmup", "ok", "status", "error_kind",
              "prompt_tokens", "requested_output_tokens", "output_tokens", "chunks",
              "token_source"]
VOLATILE = re.compile(r"(^|_)(id|at|ns|clock|host|hostname|boot|pid|started|ended|"
                      r"git_commit|tool_version|duration_s|wall_s)$")
NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?(e[-+]?\d+)?")


def run(binary, out, requests):
    args = [binary, "run", "--out", out]
    if requests:
        args += ["--requests", str(requests)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout


def blank(value, key=""):
    if isinstance(value, dict):
        return {k: blank(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [blank(v, key) for v in value]
    if VOLATILE.search(key):
        return "<volatile>"
    return value


def key_paths(value, prefix=""):
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(prefix + "." + k)
            out |= key_paths(v, prefix + "." + k)
    elif isinstance(value, list):
        for v in value:
            out |= key_paths(v, prefix + "[]")
    return out


def without_self_check(text):
    return "\n".join(l for l in text.splitlines()
                     if "client-limited" not in l and "client_limited" not in l
                     and not l.startswith(("✅", "⚠️")))


def masked(text):
    """Numbers as `#`, and table padding (spaces, box-drawing rules) collapsed."""
    return re.sub(r"[ ─═┄]+", " ", NUMBER.sub("#", text))


def digest(out, stdout):
    d = {"files": sorted(os.listdir(out))}
    with open(os.path.join(out, "run.json")) as f:
        d["run.json"] = blank(json.load(f))
    rows = []
    keys = set()
    with open(os.path.join(out, "requests.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            keys |= set(r) - {"client_stall"}
            rows.append({k: r.get(k) for k in ROW_FIELDS})
    d["row keys"] = sorted(keys)
    d["rows"] = sorted(rows, key=lambda r: (r["scenario"], r["trial"], r["index"]))
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    d["summary keys"] = sorted(p for p in key_paths(summary)
                               if not p.endswith("client_health.reasons"))
    d["summary counts"] = [
        (s["name"], [(t.get("requests"), t.get("succeeded"), t.get("failed"))
                     for t in s.get("trials", [])])
        for s in summary.get("scenarios", [])
    ]
    with open(os.path.join(out, "report.md")) as f:
        d["report.md"] = masked(without_self_check(f.read()))
    with open(os.path.join(out, "summary.csv")) as f:
        d["summary.csv header"] = f.readline()
    d["console"] = masked(without_self_check(stdout))
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--requests", type=int, default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="llm-bench-same-outputs-")
    digests = []
    for name, binary in (("old", a.old), ("new", a.new)):
        out = os.path.join(work, name)
        rc, stdout = run(binary, out, a.requests)
        print(f"{name}: exit {rc}, {out}")
        digests.append((rc, digest(out, stdout)))
    (rc_old, old), (rc_new, new) = digests
    differences = [] if rc_old == rc_new else [f"exit code {rc_old} vs {rc_new}"]
    for part in old:
        if old[part] != new[part]:
            differences.append(part)
            if isinstance(old[part], list) and isinstance(new[part], list):
                only_old = [x for x in old[part] if x not in new[part]][:5]
                only_new = [x for x in new[part] if x not in old[part]][:5]
                print(f"  {part}: only old {only_old}\n  {part}: only new {only_new}")
            elif isinstance(old[part], str):
                for lo, ln in zip(old[part].splitlines(), new[part].splitlines()):
                    if lo != ln:
                        print(f"  {part}: first difference\n    old: {lo}\n    new: {ln}")
                        break
    compared = ", ".join(old)
    if differences:
        print(f"DIFFERENT: {', '.join(differences)}")
        sys.exit(1)
    rows = len(old["rows"])
    print(f"same: {compared} ({rows} rows)")


if __name__ == "__main__":
    main()
