#!/usr/bin/python3
"""Self-test of scripts/check_layers.py: it must pass on a copy of the tree as it is, and fail,
naming the file and the rule, on each violation planted in that copy (one at a time). Violations
go into new files (src/<layer>/planted_violation.*) or into the wps_layer() calls of the copied
src/CMakeLists.txt, so the test does not depend on which files exist or on the script's list of
known exceptions.

Usage: check_layers_selftest.py [ROOT]   (default: this script's parent directory)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_layers.py")

# (what, planted file relative to the root, its text, rule expected in the report)
SOURCE_CASES = [
    ("core includes the transport", "src/core/planted_violation.cpp",
     '#include "transport/listener.hpp"\n', "layer"),
    ("core includes the transport by a relative path", "src/core/planted_violation.cpp",
     '#include "../transport/listener.hpp"\n', "layer"),
    ("core includes the api", "src/core/planted_violation.hpp", '#include "api/rest_api.hpp"\n',
     "layer"),
    ("core includes webhook", "src/core/planted_violation.cpp",
     '#include "webhook/dispatcher.hpp"\n', "layer"),
    ("core includes redis", "src/core/planted_violation.cpp", '#include "redis/broker.hpp"\n',
     "layer"),
    ("core includes Beast", "src/core/planted_violation.cpp", "#include <boost/beast/http.hpp>\n",
     "headers"),
    ("core includes hiredis", "src/core/planted_violation.cpp", "#include <hiredis/hiredis.h>\n",
     "headers"),
    ("the transport includes webhook",
     "src/transport/planted_violation.cpp", '#include "webhook/dispatcher.hpp"\n', "layer"),
    ("the transport includes the api, in angle brackets", "src/transport/planted_violation.hpp",
     "#include <api/rest_api.hpp>\n", "layer"),
    ("protocol includes the core", "src/protocol/planted_violation.hpp",
     '#include "core/hub.hpp"\n', "layer"),
    ("protocol includes Asio", "src/protocol/planted_violation.cpp",
     "#include <boost/asio/ip/tcp.hpp>\n", "headers"),
    ("protocol includes a socket header", "src/protocol/planted_violation.cpp",
     "#  include <sys/socket.h>\n", "headers"),
    ("protocol opens files", "src/protocol/planted_violation.cpp", "#include <fstream>\n",
     "headers"),
    ("protocol includes hiredis", "src/protocol/planted_violation.cpp",
     "#include <hiredis/read.h>\n", "headers"),
    ("util includes protocol", "src/util/planted_violation.hpp",
     '#include "protocol/messages.hpp"\n', "layer"),
    ("util includes config", "src/util/planted_violation.cpp", '#include "config/config.hpp"\n',
     "layer"),
    ("util includes Asio", "src/util/planted_violation.cpp", "#include <boost/asio.hpp>\n",
     "headers"),
    ("webhook includes the transport", "src/webhook/planted_violation.cpp",
     '#include "transport/listener.hpp"\n', "layer"),
    ("a handler includes the transport", "src/handler/planted_violation.cpp",
     '#include "transport/websocket_connection.hpp"\n', "layer"),
    ("a handler includes webhook", "src/handler/planted_violation.hpp",
     '#include "webhook/dispatcher.hpp"\n', "layer"),
    ("a handler includes a socket type", "src/handler/planted_violation.cpp",
     "#include <boost/asio/ip/tcp.hpp>\n", "headers"),
    ("the core includes a handler", "src/core/planted_violation.cpp",
     '#include "handler/handler.hpp"\n', "layer"),
    ("the api includes the transport", "src/api/planted_violation.cpp",
     '#include "transport/listener.hpp"\n', "layer"),
    ("redis includes the api", "src/redis/planted_violation.cpp", '#include "api/router.hpp"\n',
     "layer"),
    ("the core includes the ops layer", "src/core/planted_violation.cpp",
     '#include "ops/prometheus.hpp"\n', "layer"),
    ("the ops layer includes the transport", "src/ops/planted_violation.cpp",
     '#include "transport/listener.hpp"\n', "layer"),
]

# (what, layer whose wps_layer() call changes, change, rule, text expected in the report)
LINK_CASES = [
    ("the core links the transport", "core", lambda deps: deps + " wps_transport", "links",
     "wps_core must not link wps_transport"),
    ("protocol links the core", "protocol", lambda deps: deps + " wps_core", "links",
     "wps_protocol must not link wps_core"),
    ("the ops layer links the api", "ops", lambda deps: deps + " wps_api", "links",
     "wps_ops must not link wps_api"),
    ("webhook includes config but no longer links it", "webhook",
     lambda deps: re.sub(r"\s*\bwps_config\b", "", deps), "links",
     "webhook includes config"),
]


def run_check(root):
    proc = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def main():
    source = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, ".."))
    passed = failed = 0

    def verdict(ok, what, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok: {what}")
        else:
            failed += 1
            print(f"FAIL: {what}")
            for line in detail.splitlines():
                print(f"    | {line}")

    with tempfile.TemporaryDirectory(prefix="check-layers-") as tmp:
        shutil.copytree(os.path.join(source, "src"), os.path.join(tmp, "src"))
        code, out = run_check(tmp)
        verdict(code == 0, "the tree as it is passes", out)

        for what, rel, text, rule in SOURCE_CASES:
            path = os.path.join(tmp, rel)
            with open(path, "w", encoding="utf-8") as f:
                f.write("// planted by check_layers_selftest.py\n" + text)
            code, out = run_check(tmp)
            os.remove(path)
            reported = [line for line in out.splitlines()
                        if line.startswith(rel + ":") and f"[{rule}]" in line]
            verdict(code == 1 and len(reported) == 1,
                    f"{what}: fails naming {rel} and [{rule}]", out)

        cmake = os.path.join(tmp, "src", "CMakeLists.txt")
        with open(cmake, encoding="utf-8") as f:
            original = f.read()
        for what, layer, change, rule, expected in LINK_CASES:
            pattern = re.compile(r"(wps_layer\(\s*" + layer + r"\b)([^)]*)(\))")
            if not pattern.search(original):
                verdict(False, f"{what}: no wps_layer({layer} ...) call to change in {cmake}")
                continue
            with open(cmake, "w", encoding="utf-8") as f:
                f.write(pattern.sub(lambda m: m.group(1) + change(m.group(2)) + m.group(3),
                                    original, count=1))
            code, out = run_check(tmp)
            reported = [line for line in out.splitlines()
                        if f"[{rule}]" in line and expected in line]
            verdict(code == 1 and reported, f"{what}: fails with [{rule}] '{expected}'", out)
        with open(cmake, "w", encoding="utf-8") as f:
            f.write(original)

        code, out = run_check(tmp)
        verdict(code == 0, "the tree passes again once every planted violation is gone", out)

    print(f"== check_layers_selftest: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
