# SPDX-License-Identifier: Apache-2.0
"""The package itself: lazy native import, typing marker, docstrings, public names."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import intune_scep


def test_importing_the_package_does_not_load_the_extension():
    code = ("import sys, intune_scep, intune_scep.emulator; "
            "assert 'intune_scep._native' not in sys.modules, 'eager import'; "
            "intune_scep.IntuneScepServiceClient; "
            "assert 'intune_scep._native' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_py_typed_marker_installed():
    assert (Path(intune_scep.__file__).parent / "py.typed").is_file()


def test_extension_is_private_and_self_contained():
    from intune_scep import _native

    path = Path(_native.__file__)
    assert path.parent == Path(intune_scep.__file__).parent
    assert path.name.startswith("_native.")
    # only the module's init function is exported: the C library's symbols stay private
    nm = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True)
    if nm.returncode == 0:
        exported = [line.split()[-1] for line in nm.stdout.splitlines() if " T " in line]
        assert exported == ["PyInit__native"], exported


def test_every_public_name_documented():
    for name in intune_scep.__all__:
        obj = getattr(intune_scep, name)
        if isinstance(obj, str):
            continue
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not callable(member) and not isinstance(member, (property, classmethod)):
                    continue
                assert inspect.getdoc(member), f"{name}.{attr}"


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError):
        intune_scep.NoSuchThing  # noqa: B018


def test_version():
    assert isinstance(intune_scep.__version__, str)
