#!/usr/bin/env bash
# Renders the web app's page as a user sees it, with canned data instead of SQL Server, and saves PNGs in
# web-app/screenshots/: the Kerberos success page, the NTLM warning and a failure (connection timed out), each at
# desktop width and at 390 px (a phone). The README shows them.
#
# Needs the .NET 10 SDK and Debian's headless-capable Chromium (apt-get install -y chromium). No network, no AWS.
# The canned data (SAMPLEWEBAPP_FAKE_DATA) is honoured only in the Development environment, never in a deployed task.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found: install it with apt-get install -y chromium" >&2
  exit 1
fi

out=screenshots
work=$(mktemp -d)
app_pid=''
cleanup() {
  if [[ -n "$app_pid" ]]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet publish src/SampleWebApp/SampleWebApp.csproj --configuration Release --output "$work/app" --nologo --verbosity quiet

# A ticket cache for the page's ticket line: MIT ccache version 4 with one TGT that ends in 10 hours
# (https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html). It holds no key: the page only reads it.
bytes() { printf '%b' "$@"; } # each argument with its \xHH escapes turned into bytes
u32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
data() { u32 "${#1}"; printf '%s' "$1"; }
principal() { # realm components...
  local realm=$1; shift
  u32 1; u32 $#; data "$realm"
  for component in "$@"; do data "$component"; done
}
realm=DIRECTORY.EXAMPLE.COM
now=$(date +%s)
mkdir -p "$work/krbdir"
{
  bytes '\x05\x04\x00\x0c\x00\x01\x00\x08' "$(u32 0)" "$(u32 0)"
  bytes "$(principal "$realm" 'SampleWebApp$')"
  bytes "$(principal "$realm" 'SampleWebApp$')" "$(principal "$realm" krbtgt "$realm")"
  bytes '\x00\x12' "$(u32 0)" "$(u32 "$now")" "$(u32 "$now")" "$(u32 $((now + 36000)))" "$(u32 0)"
  bytes '\x00' "$(u32 0)" "$(u32 0)" "$(u32 0)" "$(u32 0)" "$(u32 0)"
} > "$work/krbdir/krb5cc"

port=18089
mkdir -p "$out"
# Window sizes (width,height) per page: headless Chromium captures the window, so each is as tall as its page.
declare -A sizes=(
  [kerberos]='desktop:1280,1100 phone:390,1460'
  [ntlm]='desktop:1280,1120 phone:390,1560'
  [failure]='desktop:1280,1540 phone:390,2620'
)
for mode in kerberos ntlm failure; do
  (cd "$work/app" && ASPNETCORE_ENVIRONMENT=Development SAMPLEWEBAPP_FAKE_DATA=$mode ASPNETCORE_HTTP_PORTS=$port \
    KRB5CCNAME="FILE:$work/krbdir/krb5cc" exec dotnet SampleWebApp.dll >"$work/app-$mode.log" 2>&1) &
  app_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.2
  done
  for size in ${sizes[$mode]}; do
    name=${size%%:*}
    timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
      --window-size="${size#*:}" --screenshot="$PWD/$out/$mode-$name.png" "http://127.0.0.1:$port/" >/dev/null 2>&1
    echo "wrote $out/$mode-$name.png"
  done
  kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=''
done
