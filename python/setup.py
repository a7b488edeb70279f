# SPDX-License-Identifier: Apache-2.0
"""Build of the intune_scep._native extension.

The extension is SWIG's wrapper of swig/intune_scep.i compiled together with
the C library's own sources and compile definitions (the table core/sources.txt,
which CMake reads too: core/*.c and bindings/intune_scep.c) and linked
against the system's libcurl, OpenSSL and cJSON, so nothing else needs
installing and no LD_LIBRARY_PATH is needed.

Where the C sources are found:
  - in a source checkout: beside this directory (../core, ../bindings, ../swig);
  - in an sdist: in csrc/, copied there when the sdist is made, together with
    the wrapper SWIG generated, so building from an sdist needs no SWIG.
Running SWIG (4.1 or later) at build time is needed only in a checkout; set
INTUNE_SCEP_SWIG to the swig executable to pick one.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
WRAPPER_NAME = "intune_scep_wrap.c"


def source_root() -> Path:
    """The directory holding core/, bindings/ and swig/."""
    for root in (HERE / "csrc", HERE.parent):
        if (root / "bindings" / "include" / "intune_scep.h").is_file() and (root / "core").is_dir():
            return root
    sys.exit("intune-scep: the C sources (core/, bindings/) were not found next to python/ "
             "nor in csrc/; build from a full source checkout or from the sdist")


ROOT = source_root()


def read_version() -> str:
    """The project's one version: the file VERSION at the root (copied into csrc/ in an sdist)."""
    version_file = ROOT / "VERSION"
    if not version_file.is_file():
        sys.exit(f"intune-scep: {version_file} is missing")
    version = version_file.read_text(encoding="utf-8").strip()
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version):
        sys.exit(f"intune-scep: {version_file} must hold MAJOR.MINOR.PATCH, not {version!r}")
    return version


VERSION = read_version()


def pkg_config(*args: str) -> list[str] | None:
    exe = shutil.which(os.environ.get("PKG_CONFIG", "pkg-config"))
    if not exe:
        return None
    try:
        out = subprocess.run([exe, *args, "libcurl", "openssl", "libcjson"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def core_table() -> tuple[list[str], list[tuple[str, str | None]]]:
    """The C sources and compile definitions: core/sources.txt, the table CMake reads too."""
    table = ROOT / "core" / "sources.txt"
    if not table.is_file():
        sys.exit(f"intune-scep: {table} is missing")
    sources: list[str] = []
    defines: list[tuple[str, str | None]] = []
    for number, line in enumerate(table.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition(" ")
        if kind in ("source", "abi") and value and " " not in value:
            path = ROOT / value
            if not path.is_file():
                sys.exit(f"intune-scep: {table}:{number} lists {value}, which does not exist")
            sources.append(str(path))
        elif kind == "define" and value:
            name, eq, val = value.replace("@VERSION@", VERSION).partition("=")
            defines.append((name, val if eq else None))
        else:
            sys.exit(f"intune-scep: {table}:{number}: cannot read the line {line!r}")
    if not sources:
        sys.exit(f"intune-scep: {table} lists no C sources")
    return sources, defines


SOURCES, DEFINES = core_table()


def swig_executable() -> str | None:
    return shutil.which(os.environ.get("INTUNE_SCEP_SWIG", "swig"))


def run_swig(output: Path) -> None:
    """Generate the wrapper of swig/intune_scep.i into ``output``."""
    swig = swig_executable()
    if swig is None:
        sys.exit("intune-scep: SWIG (4.1 or later) is needed to build from a source checkout; "
                 "install it (Debian: apt-get install swig) or build from the sdist")
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [swig, "-python", "-threads", "-noproxy", "-I" + str(ROOT / "bindings" / "include"),
           "-I" + str(ROOT / "swig"), "-o", str(output), str(ROOT / "swig" / "intune_scep.i")]
    print("running " + " ".join(cmd))
    subprocess.run(cmd, check=True)


class BuildExt(build_ext):
    """Generates the SWIG wrapper (unless the sdist ships one), then compiles."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:  # two compiler jobs unless told otherwise (build_ext -j N)
            self.parallel = int(os.environ.get("INTUNE_SCEP_BUILD_JOBS", "2"))

    def build_extensions(self) -> None:
        shipped = ROOT / "swig" / WRAPPER_NAME
        if shipped.is_file():
            wrapper = shipped
        else:
            wrapper = Path(self.build_temp).resolve() / WRAPPER_NAME
            run_swig(wrapper)
        map_file = Path(self.build_temp).resolve() / "_native.map"
        map_file.parent.mkdir(parents=True, exist_ok=True)
        # Export the module's init function only: the library's own symbols stay
        # private to the extension and never clash with a libintunescep.so.
        map_file.write_text("{ global: PyInit__native; local: *; };\n", encoding="ascii")
        for ext in self.extensions:
            ext.sources = [str(wrapper)] + [s for s in ext.sources if not s.endswith(WRAPPER_NAME)]
            ext.extra_link_args = list(ext.extra_link_args or []) + ["-Wl,--version-script=" + str(map_file)]
        super().build_extensions()


class Sdist(sdist):
    """Copies the C sources, the SWIG interface and the generated wrapper into csrc/."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        dest = Path(base_dir) / "csrc"
        if ROOT == HERE / "csrc":  # an sdist made from an sdist: csrc/ is in `files` already
            return
        for sub, pattern in (("core", "*.[ch]"), ("core", "sources.txt"), ("bindings", "*.c"), ("bindings", "*.map"),
                             ("bindings/include", "*.h"), ("swig", "*.i")):
            for src in sorted((ROOT / sub).glob(pattern)):
                target = dest / sub / src.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)
        (dest / "VERSION").write_text(VERSION + "\n", encoding="ascii")
        run_swig(dest / "swig" / WRAPPER_NAME)


def extension() -> Extension:
    cflags = pkg_config("--cflags") or []
    libs = pkg_config("--libs")
    if libs is None:
        libs = ["-lcurl", "-lssl", "-lcrypto", "-lcjson"]
    return Extension(
        "intune_scep._native",
        sources=SOURCES,
        include_dirs=[str(ROOT / "bindings" / "include"), str(ROOT / "core")],
        define_macros=DEFINES,
        extra_compile_args=["-std=c11", "-pthread", "-fvisibility=hidden", "-Wno-unused-parameter",
                            "-Wno-missing-field-initializers"] + cflags,
        extra_link_args=["-pthread"] + libs,
    )


setup(
    version=VERSION,
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExt, "sdist": Sdist},
)
