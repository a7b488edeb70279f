# SPDX-License-Identifier: Apache-2.0
"""Secrets do not outlive their use in the SWIG module either.

The Python wrappers of ``intune_scep_config_set`` (every configuration value: AAD_APP_KEY,
PROXY_PASS, ...) and ``intune_scep_client_set_app_key`` make a C copy of the str; that copy
is wiped before it is freed. Shown with the freescan interposer (tests/secrets/freescan.c,
LD_PRELOAD): in a child interpreter it counts every block the extension frees that still
holds the watched secret. The str objects themselves belong to Python and are out of reach.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FREESCAN = REPO / "tests" / "secrets" / "freescan.c"

CHILD = textwrap.dedent(
    """
    import ctypes, sys
    import intune_scep

    scan = ctypes.CDLL(None)
    scan.freescan_violations.restype = ctypes.c_long
    first = "PyFreeScan~FirstKey." + "k" * 600
    second = "PyFreeScan~Rotated." + "r" * 600
    proxy = "PyFreeScan~ProxyPass." + "p" * 600
    for label, secret in ((b"the app key", first), (b"the rotated app key", second), (b"the proxy password", proxy)):
        needle = secret[:32].encode()
        scan.freescan_watch(label, needle, ctypes.c_size_t(len(needle)))
    config = {
        "AAD_APP_ID": "00000000-0000-0000-0000-00000000c0de",
        "AAD_APP_KEY": first,
        "TENANT": "contoso.onmicrosoft.com",
        "PROVIDER_NAME_AND_VERSION": "FreeScan/1.0",
        "PROXY_HOST": "127.0.0.1",
        "PROXY_PORT": "3128",
        "PROXY_USER": "scan",
        "PROXY_PASS": proxy,
    }
    client = intune_scep.IntuneScepServiceClient(config)
    client.set_app_key(second)
    client.close()
    print("violations=%d" % scan.freescan_violations())
    """
)


def test_swig_copies_of_secrets_are_wiped(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed to build the freescan interposer"
    lib = tmp_path / "libfreescan.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-fno-builtin", "-fno-omit-frame-pointer", "-D_GNU_SOURCE",
                    "-o", str(lib), str(FREESCAN), "-ldl", "-pthread"], check=True)
    env = dict(os.environ, LD_PRELOAD=str(lib))
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "violations=0" in done.stdout, done.stderr[-2000:]
    assert "PyFreeScan~" not in done.stderr
