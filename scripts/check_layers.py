#!/usr/bin/python3
"""Checks that the layers of src/ depend only inward (docs/ARCHITECTURE.md):

    util <- protocol <- core <- handler <- transport <- app
                               core <- {api, webhook, redis, ops} <- app
    auth and config sit beside the core and are used by the outer layers; the core reaches the
    event handlers (webhook) and other nodes (redis) only through its own interfaces.

Rules, each named in the failures it reports:
  layer    a file of layer L includes only headers of the layers L may use (LAYERS below);
  headers  util and protocol include no I/O library or system I/O header (Asio, Beast, hiredis,
           sockets, files, streams; util may print its log), the core nothing of Beast or hiredis;
  links    src/CMakeLists.txt links each wps_L only to the layers L may use, and every layer L
           includes is one its link closure provides (an include that works only because every
           target sees all of src/ is a missing link).

Usage: check_layers.py [--no-exceptions] [ROOT]
  ROOT: the repository (default: this script's parent directory); --no-exceptions: ignore the
  EXCEPTIONS list (what is left to restructure). Exits 1 and prints one line per violation,
  "<file>:<line>: [<rule>] <what>", when one is found. scripts/check_layers_selftest.py plants a
  violation of each rule in a copy of the tree and checks that this script reports it.
"""
import os
import re
import sys

# The project layers each layer may include (itself included).
LAYERS = {
    "util": {"util"},
    "protocol": {"protocol", "util"},
    "auth": {"auth", "util"},
    "config": {"config", "util"},
    "core": {"core", "protocol", "util"},
    "webhook": {"webhook", "core", "config", "protocol", "util"},
    "handler": {"handler", "core", "auth", "config", "protocol", "util"},
    "transport": {"transport", "handler", "core", "auth", "config", "protocol", "util"},
    "api": {"api", "core", "auth", "config", "protocol", "util"},
    "redis": {"redis", "core", "config", "protocol", "util"},
    "ops": {"ops", "core", "auth", "config", "util"},
    "app": {"app", "transport", "handler", "api", "webhook", "redis", "ops", "core", "auth", "config",
            "protocol", "util"},
}

# Headers (by prefix of the include path) a layer must not include, and why.
IO_HEADERS = [
    "boost/asio", "boost/beast", "hiredis/", "openssl/ssl.h", "openssl/bio.h", "sys/", "netinet/",
    "arpa/", "netdb.h", "unistd.h", "fcntl.h", "poll.h", "fstream", "filesystem", "iostream",
    "cstdio", "stdio.h",
]
FORBIDDEN_HEADERS = {
    "util": ([h for h in IO_HEADERS if h not in ("cstdio", "stdio.h")],
             "util is I/O-free but for its log"),
    "protocol": (IO_HEADERS, "protocol is pure: no I/O"),
    "core": (["boost/beast", "hiredis/"], "the core knows no wire library"),
    "handler": (["boost/beast", "boost/asio/ip", "boost/asio/ssl", "hiredis/", "openssl/ssl.h",
                 "sys/", "netinet/", "arpa/", "netdb.h", "unistd.h"],
                "a handler sees its connection only through handler::Socket"),
}

# Known violations, excused one by one while a restructuring removes them. Each entry is exact:
# (file, included header) or ("src/CMakeLists.txt", "wps_<layer> -> wps_<dep>"). Empty since
# the WebSocket split (the transport reaches the event handlers through core::Upstream).
EXCEPTIONS: set = set()

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
LAYER_CALL_RE = re.compile(r"^\s*wps_layer\(\s*(\w+)([^)]*)\)", re.MULTILINE)


def layer_of_include(path, quote, source_dir, src):
    """The project layer an include names, or None for a system/third-party header."""
    if quote == '"' and not path.startswith(tuple(l + "/" for l in LAYERS)):
        # A quoted include relative to the including file ("hub.hpp", "../core/hub.hpp").
        resolved = os.path.normpath(os.path.join(source_dir, path))
        rel = os.path.relpath(resolved, src)
        if not rel.startswith(".."):
            path = rel.replace(os.sep, "/")
    first = path.split("/", 1)[0]
    return first if "/" in path and first in LAYERS else None


def check_sources(root, problems, used):
    src = os.path.join(root, "src")
    for layer in sorted(LAYERS):
        directory = os.path.join(src, layer)
        for dirpath, _, files in os.walk(directory):
            for name in sorted(files):
                if not name.endswith((".hpp", ".cpp", ".h", ".ipp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE_RE.match(line)
                        if not m:
                            continue
                        quote, header = m.group(1), m.group(2)
                        target = layer_of_include(header, quote, dirpath, src)
                        if target is not None:
                            used.setdefault(layer, {}).setdefault(target, (rel, number, header))
                            if target not in LAYERS[layer] and (rel, header) not in EXCEPTIONS:
                                problems.append(
                                    f"{rel}:{number}: [layer] {layer} must not include {target} "
                                    f"({header}); {layer} may use: "
                                    f"{', '.join(sorted(LAYERS[layer] - {layer}))}")
                            continue
                        prefixes, why = FORBIDDEN_HEADERS.get(layer, ([], ""))
                        for prefix in prefixes:
                            if header == prefix or header.startswith(prefix):
                                if (rel, header) not in EXCEPTIONS:
                                    problems.append(
                                        f"{rel}:{number}: [headers] {layer} must not include "
                                        f"<{header}> ({why})")
                                break


def check_links(root, problems, used):
    cmake = os.path.join(root, "src", "CMakeLists.txt")
    rel = "src/CMakeLists.txt"
    with open(cmake, encoding="utf-8") as f:
        text = f.read()
    deps = {}
    for m in LAYER_CALL_RE.finditer(text):
        layer = m.group(1)
        number = text.count("\n", 0, m.start()) + 1
        if layer not in LAYERS:
            problems.append(f"{rel}:{number}: [links] wps_{layer} is not a layer this check knows")
            continue
        deps[layer] = set()
        for dep in re.findall(r"\bwps_(\w+)", m.group(2)):
            deps[layer].add(dep)
            if dep not in LAYERS[layer] and (rel, f"wps_{layer} -> wps_{dep}") not in EXCEPTIONS:
                problems.append(
                    f"{rel}:{number}: [links] wps_{layer} must not link wps_{dep}; {layer} may "
                    f"use: {', '.join(sorted(LAYERS[layer] - {layer}))}")
    for layer in sorted(LAYERS):
        if layer not in deps:
            problems.append(f"{rel}: [links] no wps_layer({layer} ...) call")
    # What each layer's link closure provides, and whether its includes stay inside it.
    for layer in sorted(deps):
        closure, todo = {layer}, list(deps[layer])
        while todo:
            dep = todo.pop()
            if dep in closure or dep not in deps:
                continue
            closure.add(dep)
            todo.extend(deps[dep])
        for target, (file, number, header) in sorted(used.get(layer, {}).items()):
            if target not in closure and (file, header) not in EXCEPTIONS:
                problems.append(
                    f"{file}:{number}: [links] {layer} includes {target} ({header}) but "
                    f"wps_{layer} does not link wps_{target} (directly or through its links)")


def main():
    args = sys.argv[1:]
    if "--no-exceptions" in args:
        args.remove("--no-exceptions")
        EXCEPTIONS.clear()
    root = os.path.abspath(args[0] if args else
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    problems, used = [], {}
    check_sources(root, problems, used)
    check_links(root, problems, used)
    for p in problems:
        print(p)
    rules = ["layer", "headers", "links"]
    failed = [r for r in rules if any(f"[{r}]" in p for p in problems)]
    print(f"== check_layers: {len(rules) - len(failed)} passed, {len(failed)} failed"
          + (f" ({', '.join(failed)}; {len(problems)} violations)" if failed else
             f" (layer, headers, links; {len(EXCEPTIONS)} known exceptions)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
