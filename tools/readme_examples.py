"""Rerun every `$ command` block of README.md that is not abridged (no "…") and paste its real output.

    python tools/readme_examples.py .              # every block
    python tools/readme_examples.py . ' -v$'       # only blocks whose first command matches
    DOC=docs/gradcheck.md ABRIDGE=1 python tools/readme_examples.py . 'gradcheck mypg'
        # another document; an output abridged as head lines, "  …", tail lines keeps that shape

Commands run in a scratch folder holding copies of examples/ and proofs/ and the README's own
python blocks that name their file on their first line (# my_derivation.py, …).
"""
import os, re, shutil, subprocess, sys, tempfile
repo = os.path.abspath(sys.argv[1])  # the commands run in a scratch folder
doc = os.environ.get("DOC", "README.md")
abridge = bool(os.environ.get("ABRIDGE"))
text = open(os.path.join(repo, doc), encoding="utf-8").read()
work = tempfile.mkdtemp(prefix="readme-")
for d in ("examples", "proofs"):
    shutil.copytree(os.path.join(repo, d), os.path.join(work, d))
bindir = os.path.join(work, ".bin"); os.makedirs(bindir)
with open(os.path.join(bindir, "derive"), "w") as f:
    f.write(f"#!/bin/sh\nexec {sys.executable} -m derive \"$@\"\n")
os.chmod(os.path.join(bindir, "derive"), 0o755)
env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, work, os.path.join(work, "examples")]), "PATH": bindir + os.pathsep + os.environ["PATH"]}
# python blocks that name their file on the first line
for m in re.finditer(r"```python\n# ([\w./-]+\.py)[^\n]*\n(.*?)```", text, re.S):
    with open(os.path.join(work, m.group(1)), "w") as f:
        f.write("# " + m.group(1) + "\n" + m.group(2))
out, pos, skipped = [], 0, []
for m in re.finditer(r"```\n(\$ .*?)```", text, re.S):
    if len(sys.argv) > 2 and not re.search(sys.argv[2], m.group(1).splitlines()[0]): continue
    body = m.group(1)
    if ("…" in body or "..." in body) and not abridge:
        skipped.append(body.splitlines()[0]); continue
    new = []
    # each command's old output, to keep an abridged one's shape (head lines, "  …", tail lines)
    olds = [part.split("\n")[1:] for part in ("\n" + body).split("\n$ ")[1:]]
    for cmd, old in zip([l[2:] for l in body.splitlines() if l.startswith("$ ")], olds):
        r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=900)  # one stream, in the order a terminal shows it
        res = r.stdout.rstrip("\n")
        res = res.replace(work + "/", "").replace(work, ".")
        old = [l for l in old if l != ""]
        if abridge and "  …" in old:
            k = old.index("  …"); tail = len(old) - k - 1
            lines = res.splitlines()
            res = "\n".join(lines[:k] + ["  …"] + (lines[len(lines) - tail:] if tail else []))
        new.append("$ " + cmd + ("\n" + res if res else ""))
        print("ran:", cmd, "rc", r.returncode, file=sys.stderr)
    sep = "\n\n" if "\n\n$ " in body else "\n"  # commands separated by a blank line stay so
    out.append(text[pos:m.start(1)]); out.append(sep.join(new) + "\n"); pos = m.end(1)
out.append(text[pos:])
open(os.path.join(repo, doc), "w", encoding="utf-8").write("".join(out))
print("skipped (abridged):", *skipped, sep="\n  ", file=sys.stderr)
