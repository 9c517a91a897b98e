#!/usr/bin/env bash
# The Debian package as an administrator meets it (issue 18): build it from the release build
# (scripts/package.sh), install it with dpkg -i, run the binary and the man page, lint the systemd
# unit (systemd-analyze verify), start the server the way the unit does (its ExecStart line, its
# environment file, an unprivileged user; no systemd needed) and ask /api/health, upgrade it and
# check the local changes stay, remove it (config stays), purge it (config goes).
# Also checks that deploy/Dockerfile runs the same command as the unit.
#
# Needs root (dpkg -i) and a machine where the package is not installed; it removes what it
# installed, also after a failure. Prints "ok"/"not ok" per check and "# pass N" / "# fail N".
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg=webpubsub-server
marker=/var/tmp/webpubsub-server-package-test.marker
work="$(mktemp -d /tmp/wps-package-test.XXXXXX)"
pass=0
fail=0
server_pid=""

ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; shift; [[ $# -gt 0 ]] && printf '    %s\n' "$@"; fail=$((fail + 1)); }
check() {  # check NAME COMMAND...: passes when the command exits 0
  local name="$1"; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
installed() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qv 'not-installed'; }
finish() {
  [[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null
  if [[ -f "$marker" ]]; then
    dpkg --purge "$pkg" >/dev/null 2>&1
    rm -f "$marker"
  fi
  rm -rf "$work"
  echo "# pass $pass"
  echo "# fail $fail"
}
trap finish EXIT

if [[ $(id -u) -ne 0 ]]; then
  echo "package test skipped: dpkg -i needs root"
  exit 0
fi
if installed; then
  if [[ -f "$marker" ]]; then
    echo "purging the package left by an interrupted run of this test"
    dpkg --purge "$pkg" >/dev/null
  else
    not_ok "the machine has no $pkg package installed" \
      "this test installs and purges $pkg; remove yours first (dpkg --purge $pkg)"
    exit 1
  fi
fi

# ---- build
deb=$("$repo/scripts/package.sh" 2>&1 | tail -n 1)
if [[ ! -f "$deb" ]]; then
  not_ok "scripts/package.sh builds the .deb" "$deb"
  exit 1
fi
ok "scripts/package.sh builds $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
version=$(dpkg-deb -f "$deb" Version)

contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/webpubsub-server ./usr/lib/systemd/system/webpubsub-server.service \
  ./etc/webpubsub-server/config.json ./usr/share/man/man1/webpubsub-server.1.gz \
  ./usr/share/doc/webpubsub-server/README.md; do
  if grep -qxF "$f" <<<"$contents"; then ok "the package holds $f"; else not_ok "the package holds $f" "$contents"; fi
done
dpkg-deb -e "$deb" "$work/control"
check "config.json is a conffile" grep -qxF /etc/webpubsub-server/config.json "$work/control/conffiles"
# Depends: every package named is a Debian package this machine has (dpkg-shlibdeps named them).
depends=$(dpkg-deb -f "$deb" Depends)
missing=""
for dep in $(tr ',|' '\n\n' <<<"$depends" | sed 's/(.*//' | xargs); do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' || missing+=" $dep"
done
if [[ -n "$depends" && -z "$missing" ]]; then ok "Depends names installed Debian packages: $depends"
else not_ok "Depends names installed Debian packages" "Depends: $depends" "unknown:$missing"; fi

# ---- install
touch "$marker"
check "dpkg -i installs it" dpkg -i "$deb" </dev/null
check "webpubsub-server --help" bash -c '/usr/bin/webpubsub-server --help | grep -q "^Usage: webpubsub-server"'
check "webpubsub-server --version says $version" bash -c "/usr/bin/webpubsub-server --version | grep -qx 'webpubsub-server $version'"
check "the man page documents every flag of --help" bash -c '
  for flag in $(/usr/bin/webpubsub-server --help | grep -oE "^  --[a-z0-9-]+"); do
    zcat /usr/share/man/man1/webpubsub-server.1.gz | sed "s/\\\\-/-/g" | grep -qF -- "$flag" || { echo "missing $flag"; exit 1; }
  done'
if command -v man >/dev/null; then
  check "man renders the page without warnings" bash -c '
    out=$(MANWIDTH=80 man --warnings -l /usr/share/man/man1/webpubsub-server.1.gz 2>&1 >/dev/null); [[ -z "$out" ]] || { echo "$out"; exit 1; }'
fi

env_file=/etc/webpubsub-server/environment
check "postinst made the environment file, root-only, with a random key" bash -c "
  [[ \$(stat -c %a $env_file) == 600 ]] && grep -qE '^WPS_ACCESS_KEY=[A-Za-z0-9_-]{40,}\$' $env_file"
unit=/usr/lib/systemd/system/webpubsub-server.service
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify accepts the unit" bash -c "
    out=\$(systemd-analyze verify $unit 2>&1); rc=\$?; [[ \$rc -eq 0 && -z \$out ]] || { echo \"\$out\"; exit 1; }"
  check "the unit is hardened (systemd-analyze security: exposure <= 1.5)" bash -c "
    out=\$(systemd-analyze security --offline=true $unit 2>&1 | tail -n 1)
    score=\$(grep -oE '[0-9]+\.[0-9]+' <<<\"\$out\" | head -n 1)
    awk -v s=\"\$score\" 'BEGIN { exit !(s != \"\" && s <= 1.5) }' || { echo \"\$out\"; exit 1; }"
else
  not_ok "systemd-analyze is available to lint the unit" "scripts/setup.sh installs systemd"
fi
for key in 'DynamicUser=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
  'StateDirectory=webpubsub-server' 'RuntimeDirectory=webpubsub-server' 'LimitNOFILE=' \
  "EnvironmentFile=$env_file"; do
  check "the unit sets $key" grep -q "^$key" "$unit"
done

# ---- run it as the unit does: ExecStart, the environment file, an unprivileged user
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
check "Dockerfile runs the unit's ExecStart command" bash -c "
  entry=\$(sed -n 's/^ENTRYPOINT \[\"\\(.*\\)\"\]/\\1/p' '$repo/deploy/Dockerfile')
  cmd=\$(sed -n 's/^CMD \[\"\\(.*\\)\"\]/\\1/p' '$repo/deploy/Dockerfile' | sed 's/\", \"/ /g')
  [[ \"\$entry \$cmd\" == '$exec_start' ]] || { echo \"Dockerfile: \$entry \$cmd; unit: $exec_start\"; exit 1; }"
log="$work/server.log"
# shellcheck disable=SC2086 # ExecStart is a command line
env -i PATH=/usr/bin:/bin $(grep -E '^[A-Z_]+=' "$env_file") WPS_PORT=0 \
  setpriv --reuid=nobody --regid=nogroup --clear-groups $exec_start >"$log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(grep -oE 'Endpoint=http://localhost:[0-9]+' "$log" | grep -oE '[0-9]+$')
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -n "$port" ]]; then
  ok "ExecStart ($exec_start) starts as nobody with the packaged config, on port $port"
  check "GET /api/health is 200" curl -fsS -o /dev/null "http://localhost:$port/api/health"
  key=$(sed -n 's/^WPS_ACCESS_KEY=//p' "$env_file")
  check "the key is the environment file's" grep -qF "AccessKey=$key;" "$log"
  # The container's HEALTHCHECK command, as Docker would run it (exec form), against this server.
  health_cmd=$(python3 -c '
import json, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$", text, re.M)
print("\0".join(json.loads(m.group(1))), end="")' "$repo/deploy/Dockerfile" | tr '\0' '\n')
  if [[ -n "$health_cmd" ]]; then
    mapfile -t health_argv <<<"$health_cmd"
    check "the Dockerfile's HEALTHCHECK command passes" env WPS_PORT="$port" "${health_argv[@]}"
    check "the Dockerfile's HEALTHCHECK command fails on a port nobody listens on" \
      bash -c "! env WPS_PORT=1 $(printf '%q ' "${health_argv[@]}")"
  else
    not_ok "the Dockerfile has a HEALTHCHECK CMD in exec form"
  fi
  kill -TERM "$server_pid"
  rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  if [[ $rc -eq 0 ]]; then ok "SIGTERM stops it gracefully (exit 0)"; else not_ok "SIGTERM stops it gracefully" "exit $rc" "$(cat "$log")"; fi
else
  not_ok "ExecStart starts the server with the packaged config" "$(cat "$log")"
fi

# ---- upgrade: local changes to the conffile and the environment file stay
echo '// a local change' >>/etc/webpubsub-server/config.json
echo 'WPS_LOG_LEVEL=debug' >>"$env_file"
env_sum=$(sha256sum "$env_file")
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: $version+upgradetest/" "$work/next/DEBIAN/control"
dpkg-deb -b "$work/next" "$work/next.deb" >/dev/null
check "dpkg -i upgrades it to $version+upgradetest" dpkg -i "$work/next.deb" </dev/null
check "the upgrade kept the local change to config.json" grep -q '^// a local change' /etc/webpubsub-server/config.json
check "the upgrade left the environment file alone" bash -c "[[ '$(sha256sum "$env_file")' == '$env_sum' ]]"

# ---- remove: the configuration stays; purge: it goes
check "dpkg -r removes it" dpkg -r "$pkg" </dev/null
check "the binary and the unit are gone" bash -c "[[ ! -e /usr/bin/webpubsub-server && ! -e $unit ]]"
check "removal kept config.json with the local change" grep -q '^// a local change' /etc/webpubsub-server/config.json
check "removal kept the environment file" test -f "$env_file"
check "dpkg lists it as config-files" bash -c "dpkg-query -W -f='\${Status}' $pkg | grep -q config-files"
check "dpkg --purge removes the configuration" bash -c "dpkg --purge $pkg </dev/null >/dev/null && [[ ! -e /etc/webpubsub-server ]]"
check "nothing of the package is left" bash -c "! dpkg-query -W -f='\${Status}' $pkg 2>/dev/null | grep -qv not-installed"
rm -f "$marker"

[[ $fail -eq 0 ]]
