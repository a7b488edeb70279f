# SPDX-License-Identifier: Apache-2.0
"""The package checks of scripts/test-packages.sh, run on the host with the emulator
(from the wheel being tested, installed with its [emulator] extra) serving on
loopback, while each package runs inside a minimal Debian 12 root file system
(chroot: the same network namespace, so 127.0.0.1 is the emulator).

    python package_checks.py ROOTFS DIST_DIR EXAMPLE_JAR VERSION

Each check makes a device request for a fresh challenge, runs the package inside
the chroot, and then asks the emulator what it saw: a check passes only when the
program said Success AND the emulator recorded a validateRequest answered with
"Success" (and the notification) for that transaction.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

from cryptography.hazmat.primitives import serialization

from intune_scep.emulator import Emulator
from intune_scep.emulator.device import TestCA, csr_base64, make_csr

ROOTFS, DIST, EXAMPLE_JAR, VERSION = sys.argv[1:5]
WORK = "/work"  # inside the chroot
HOST_WORK = ROOTFS + WORK
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
failures = []


def chroot(*cmd, check=True, timeout=600):
    """Run a command inside the root file system with a clean environment."""
    print("  $ chroot ROOTFS " + " ".join(cmd), flush=True)
    r = subprocess.run(["chroot", ROOTFS, *cmd], env=CLEAN_ENV, capture_output=True, text=True,
                       timeout=timeout)
    out = (r.stdout + r.stderr).strip()
    if out:
        print(textwrap.indent(out[-4000:], "    "), flush=True)
    if check and r.returncode != 0:
        raise RuntimeError("exit status %d: %s" % (r.returncode, " ".join(cmd)))
    return r


def check(name, ok, detail=""):
    print(("ok      " if ok else "FAILED  ") + name + (": " + detail if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(name)


def new_request(emu, ca, cn):
    """A fresh transaction: challenge, device CSR (base64 DER) and the certificate the CA issues."""
    profile = {"subject": "CN=%s,O=Contoso" % cn}
    issued = emu.issue_challenge(profile)
    _key, der = make_csr(profile, issued["challenge"])
    cert = ca.sign(der)
    return "tx-" + uuid.uuid4().hex[:12], csr_base64(der), cert.public_bytes(serialization.Encoding.PEM)


def verdicts(emu, tid):
    return [v["code"] for v in emu.validations() if v["transaction_id"] == tid]


def notified(emu, tid, kind):
    return [n for n in emu.notifications()[kind] if n.get("transactionId") == tid]


def write(name, data, mode=0o600):
    path = os.path.join(HOST_WORK, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    os.chmod(path, mode)
    return WORK + "/" + name


def main():
    os.makedirs(HOST_WORK, exist_ok=True)
    ca = TestCA()
    with Emulator() as emu:
        shutil.copy(emu.ca_file, os.path.join(HOST_WORK, "emulator-ca.pem"))
        config = dict(emu.config)
        config["TLS_CA_FILE"] = WORK + "/emulator-ca.pem"
        assert all("\\" not in v and "\n" not in v for v in config.values())
        props = write("intune.properties", "".join("%s=%s\n" % kv for kv in config.items()))

        # -- the jar, alone on the class path with the example ------------------------------
        print("== the jar inside the root file system (nothing but a JRE there)", flush=True)
        absent = chroot("sh", "-c", "ls /usr/lib/x86_64-linux-gnu/libcurl.so.4 /usr/lib/x86_64-linux-gnu/libcjson.so.1"
                        " /usr/lib/x86_64-linux-gnu/libssl.so.3 2>&1", check=False)
        check("the root file system has no libcurl, libssl or libcjson", absent.returncode != 0)
        shutil.copy(os.path.join(DIST, "intune-scep-%s.jar" % VERSION), os.path.join(HOST_WORK, "intune-scep.jar"))
        shutil.copy(EXAMPLE_JAR, os.path.join(HOST_WORK, "example.jar"))
        tid, csr, pem = new_request(emu, ca, "java-device")
        r = chroot("java", "-Djava.library.path=", "-cp", WORK + "/intune-scep.jar:" + WORK + "/example.jar",
                   "example.ScepServerExample", props, write("java.csr", csr), tid, write("java.pem", pem),
                   check=False)
        check("java: the documented flow ends in Success", r.returncode == 0 and "successNotification: Success" in r.stdout,
              "exit %d" % r.returncode)
        check("java: the emulator answered validateRequest with Success", verdicts(emu, tid) == ["Success"],
              str(verdicts(emu, tid)))
        check("java: the emulator recorded the success notification", len(notified(emu, tid, "success")) == 1)
        # fail closed through the same jar: a request for a challenge never issued is refused
        forged_tid = "tx-" + uuid.uuid4().hex[:12]
        r = chroot("java", "-cp", WORK + "/intune-scep.jar:" + WORK + "/example.jar", "example.ScepServerExample",
                   props, write("java-bad.csr", "bm90IGEgQ1NS"), forged_tid, check=False)
        check("java: a request that is not a CSR is refused (exit 1, nothing issued)",
              r.returncode == 1 and "Intune said no" in r.stdout and not notified(emu, forged_tid, "success"))

        # -- the wheel, in a fresh venv without network ---------------------------------------
        print("== the wheel inside the root file system (python3 and python3-venv only)", flush=True)
        wheel = glob.glob(os.path.join(DIST, "intune_scep-%s-*manylinux*.whl" % VERSION))[0]
        shutil.copy(wheel, HOST_WORK)
        chroot("python3", "-m", "venv", WORK + "/venv")
        chroot(WORK + "/venv/bin/pip", "install", "--no-index", "--disable-pip-version-check", "-q",
               WORK + "/" + os.path.basename(wheel))
        tid, csr, pem = new_request(emu, ca, "python-device")
        script = write("flow.py", textwrap.dedent("""
            import sys
            import intune_scep
            with intune_scep.IntuneScepServiceClient.from_properties_file(sys.argv[1]) as client:
                client.ValidateRequest(sys.argv[2], open(sys.argv[3]).read().strip())
                client.notify_success_for_certificate(sys.argv[2], open(sys.argv[3]).read().strip(),
                                                      open(sys.argv[4], "rb").read())
            print("python: Success with intune_scep", intune_scep.__version__, "from", intune_scep.__file__)
            print("cryptography importable:", __import__("importlib").util.find_spec("cryptography") is not None)
            """))
        r = chroot(WORK + "/venv/bin/python", script, props, tid, write("py.csr", csr), write("py.pem", pem),
                   check=False)
        check("wheel: validateRequest and the success notification end in Success",
              r.returncode == 0 and "python: Success" in r.stdout, "exit %d" % r.returncode)
        check("wheel: installed without cryptography (the client needs none)",
              "cryptography importable: False" in r.stdout)
        check("wheel: the emulator answered validateRequest with Success", verdicts(emu, tid) == ["Success"],
              str(verdicts(emu, tid)))
        check("wheel: the emulator recorded the success notification", len(notified(emu, tid, "success")) == 1)

        # -- trust from the system store, at another distribution's place ---------------------
        # The jar's and the wheel's libcurl come from Debian, whose built-in bundle is
        # /etc/ssl/certs/ca-certificates.crt. Without TLS_CA_FILE, on a system that keeps
        # its bundle where RHEL does, the library must find it there.
        print("== no TLS_CA_FILE: the system's bundle where RHEL keeps it", flush=True)
        system_props = write("system.properties", "".join("%s=%s\n" % kv for kv in config.items()
                                                           if kv[0] != "TLS_CA_FILE"))
        chroot("sh", "-c", "mv /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt.away"
               " && mkdir -p /etc/pki/ca-trust/extracted/pem"
               " && cp /work/emulator-ca.pem /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")
        tid, csr, pem = new_request(emu, ca, "rhel-java-device")
        r = chroot("java", "-cp", WORK + "/intune-scep.jar:" + WORK + "/example.jar", "example.ScepServerExample",
                   system_props, write("rhel-java.csr", csr), tid, write("rhel-java.pem", pem), check=False)
        check("java: trusts the bundle at /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
              r.returncode == 0 and verdicts(emu, tid) == ["Success"], "exit %d" % r.returncode)
        tid, csr, pem = new_request(emu, ca, "rhel-python-device")
        r = chroot(WORK + "/venv/bin/python", script, system_props, tid, write("rhel-py.csr", csr),
                   write("rhel-py.pem", pem), check=False)
        check("wheel: trusts the bundle at /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
              r.returncode == 0 and verdicts(emu, tid) == ["Success"], "exit %d" % r.returncode)
        # with no bundle that holds the emulator's CA anywhere, nothing is trusted: fail closed
        chroot("rm", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")
        tid, csr, pem = new_request(emu, ca, "untrusted-device")
        r = chroot("java", "-cp", WORK + "/intune-scep.jar:" + WORK + "/example.jar", "example.ScepServerExample",
                   system_props, write("untrusted.csr", csr), tid, write("untrusted.pem", pem), check=False)
        check("java: without a bundle that trusts the server, the flow fails (exit 2) and nothing is validated",
              r.returncode == 2 and verdicts(emu, tid) == [], "exit %d" % r.returncode)
        chroot("mv", "/etc/ssl/certs/ca-certificates.crt.away", "/etc/ssl/certs/ca-certificates.crt")

        # -- the Debian packages: apt install ./x.deb (with the dependencies from the mirror) -
        print("== the Debian packages inside the root file system", flush=True)
        debs = sorted(glob.glob(os.path.join(DIST, "intune-scep*_%s_*.deb" % VERSION)))
        for d in debs:
            shutil.copy(d, HOST_WORK)
        chroot("apt-get", "update", "-qq")
        r = chroot("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq",
                   "--no-install-recommends", *[WORK + "/" + os.path.basename(d) for d in debs], check=False)
        check("deb: apt-get install ./intune-scep*.deb with its dependencies", r.returncode == 0)
        r = chroot("intune-scep", "-c", props, "check", check=False)
        check("deb: intune-scep check passes", r.returncode == 0, "exit %d" % r.returncode)
        r = chroot("pkg-config", "--cflags", "--libs", "intunescep", check=False)
        check("deb: pkg-config finds intunescep", r.returncode == 0 and "-lintunescep" in r.stdout)
        r = chroot("sh", "-c", "test -f /usr/lib/x86_64-linux-gnu/cmake/IntuneScep/IntuneScepConfig.cmake"
                   " && test -f /usr/include/intune_scep.h && test -f /usr/share/doc/intune-scep/copyright",
                   check=False)
        check("deb: header, CMake package and copyright installed", r.returncode == 0)
        r = chroot("intune-scep-server", "--help", check=False)
        check("deb: intune-scep-server runs (--help) with the dependencies apt installed",
              r.returncode == 0 and "intune-scep-server" in r.stdout, "exit %d" % r.returncode)

    if failures:
        print("package checks FAILED: " + "; ".join(failures))
        return 1
    print("package checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
