# SPDX-License-Identifier: Apache-2.0
"""The loopback CONNECT proxy (intune_scep.emulator.proxy) in front of the emulator."""

import base64
import http.client
import socket
import ssl

from intune_scep.emulator.proxy import ConnectProxy


def _basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def _via_proxy(emu, proxy, auth=None, target_host="127.0.0.1"):
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=ctx, timeout=10)
    conn.set_tunnel(target_host, emu.port, headers={"Proxy-Authorization": auth} if auth else None)
    return conn


def test_tunnel_with_credentials_reaches_the_emulator(emu):
    with ConnectProxy(user="proxy-user", password="pr0xy+pass") as proxy:
        conn = _via_proxy(emu, proxy, _basic("proxy-user", "pr0xy+pass"))
        conn.request("GET", "/_emulator/stats")
        r = conn.getresponse()
        assert r.status == 200 and b"connections" in r.read()
        conn.close()
        assert proxy.connects == [{"target": "127.0.0.1:%d" % emu.port, "authorized": True}]


def test_wrong_or_missing_credentials_get_407(emu):
    with ConnectProxy(user="proxy-user", password="pr0xy+pass") as proxy:
        for auth in (None, _basic("proxy-user", "wrong"), "Basic !!!"):
            conn = _via_proxy(emu, proxy, auth)
            try:
                conn.request("GET", "/_emulator/stats")
                raise AssertionError("the tunnel was opened")
            except OSError as e:
                assert "407" in str(e)
            finally:
                conn.close()
        assert [c["authorized"] for c in proxy.connects] == [False, False, False]
        assert all("wrong" not in repr(c) for c in proxy.connects)  # credentials never recorded


def test_non_loopback_targets_refused_and_non_connect_refused(emu):
    with ConnectProxy() as proxy:
        conn = _via_proxy(emu, proxy, target_host="example.com")
        try:
            conn.request("GET", "/")
            raise AssertionError("the tunnel was opened")
        except OSError as e:
            assert "403" in str(e)
        finally:
            conn.close()
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        s.sendall(b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 405")
        s.close()
