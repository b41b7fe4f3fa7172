"""Rerun every `$ command` block of README.md that is not abridged (no "…") and paste its real output.

    python tools/readme_examples.py .              # every block
    python tools/readme_examples.py . ' -v$'       # only blocks whose first command matches

Commands run in a scratch folder holding copies of examples/ and proofs/ and the README's own
python blocks that name their file on their first line (# my_derivation.py, …).
"""
import os, re, shutil, subprocess, sys, tempfile
repo = os.path.abspath(sys.argv[1])  # the commands run in a scratch folder
text = open(os.path.join(repo, "README.md"), encoding="utf-8").read()
work = tempfile.mkdtemp(prefix="readme-")
for d in ("examples", "proofs"):
    shutil.copytree(os.path.join(repo, d), os.path.join(work, d))
bindir = os.path.join(work, ".bin"); os.makedirs(bindir)
with open(os.path.join(bindir, "derive"), "w") as f:
    f.write(f"#!/bin/sh\nexec {sys.executable} -m derive \"$@\"\n")
os.chmod(os.path.join(bindir, "derive"), 0o755)
env = {**os.environ, "PYTHONPATH": repo + os.pathsep + work, "PATH": bindir + os.pathsep + os.environ["PATH"]}
# python blocks that name their file on the first line
for m in re.finditer(r"```python\n# ([\w./-]+\.py)[^\n]*\n(.*?)```", text, re.S):
    with open(os.path.join(work, m.group(1)), "w") as f:
        f.write("# " + m.group(1) + "\n" + m.group(2))
out, pos, skipped = [], 0, []
for m in re.finditer(r"```\n(\$ .*?)```", text, re.S):
    if len(sys.argv) > 2 and not re.search(sys.argv[2], m.group(1).splitlines()[0]): continue
    body = m.group(1)
    if "…" in body or "..." in body:
        skipped.append(body.splitlines()[0]); continue
    new = []
    for cmd in [l[2:] for l in body.splitlines() if l.startswith("$ ")]:
        r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        res = (r.stdout + r.stderr).rstrip("\n")
        res = res.replace(work + "/", "").replace(work, ".")
        new.append("$ " + cmd + ("\n" + res if res else ""))
        print("ran:", cmd, "rc", r.returncode, file=sys.stderr)
    out.append(text[pos:m.start(1)]); out.append("\n".join(new) + "\n"); pos = m.end(1)
out.append(text[pos:])
open(os.path.join(repo, "README.md"), "w", encoding="utf-8").write("".join(out))
print("skipped (abridged):", *skipped, sep="\n  ", file=sys.stderr)
