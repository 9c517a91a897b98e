#!/usr/bin/env bash
# Renders the server's --help as a man page (roff) on stdout, so the page says exactly what the
# binary accepts:  scripts/manpage.sh BINARY VERSION > webpubsub-server.1
# The build runs it for the Debian package (cmake/Packaging.cmake). --help looks like:
#   Usage: ...            (first line)
#   <description paragraph lines>
#   Options:
#     --name ARG          (an option: two spaces, then dashes)
#         <detail lines>  (six spaces: the env/default line, then one paragraph)
set -euo pipefail
bin="$1"
version="$2"

cat <<EOF
.TH WEBPUBSUB-SERVER 1 "" "webpubsub-server $version" "User Commands"
.SH NAME
webpubsub-server \\- a self-hosted server compatible with Azure Web PubSub
.SH SYNOPSIS
.B webpubsub-server
.RI [ options ]
EOF

"$bin" --help | awk '
  # roff: a backslash is \e; a line starting with . or '"'"' needs \& before it; - in options is \-.
  function esc(s) { gsub(/\\/, "\\e", s); if (s ~ /^[.'"'"']/) s = "\\&" s; return s }
  function opt(s) { s = esc(s); gsub(/-/, "\\-", s); return s }
  NR == 1 { next }                                   # Usage line: the SYNOPSIS above
  /^Options:$/ { print ".SH OPTIONS"; options = 1; next }
  !options {
    if ($0 == "") { if (started) paragraph = 1; next }
    if (!started) { print ".SH DESCRIPTION"; started = 1 }
    if (paragraph) { print ".PP"; paragraph = 0 }
    print esc($0); next
  }
  /^  -/ {
    line = substr($0, 3); arg = ""
    # "--name ARG" or "-h, --help": the words after the flag names are its argument.
    n = split(line, w, " ")
    names = w[1]
    for (i = 2; i <= n; i++) {
      if (w[i] ~ /^-/) names = names " " w[i]; else arg = arg (arg == "" ? "" : " ") w[i]
    }
    print ".TP"
    if (arg != "") print "\\fB" opt(names) "\\fR \\fI" esc(arg) "\\fR"; else print "\\fB" opt(names) "\\fR"
    first = 1; next
  }
  /^      / {
    # The first line (env, file key, default) stands alone; the rest is one paragraph.
    text = substr($0, 7)
    if (first == 2) print ".br"
    print esc(text); first = (first == 1) ? 2 : 0; next
  }
  { print esc($0) }
'

cat <<'EOF'
.SH FILES
.TP
.I /etc/webpubsub-server/config.json
Settings of the packaged service (a conffile: upgrades keep your changes).
.TP
.I /etc/webpubsub-server/environment
Its access key (WPS_ACCESS_KEY), made at installation; never changed by upgrades.
.TP
.I /usr/lib/systemd/system/webpubsub-server.service
The systemd unit: systemctl enable \-\-now webpubsub-server
.SH SIGNALS
SIGTERM and SIGINT shut down gracefully: clients get a close frame (1001), event handlers their
disconnected events, within limits.shutdownGraceMs. SIGHUP re-reads the TLS certificate and key.
.SH SEE ALSO
/usr/share/doc/webpubsub-server/README.md,
/usr/share/doc/webpubsub-server/CONFIGURATION.md
EOF
