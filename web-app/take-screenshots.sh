#!/usr/bin/env bash
# Renders the web app's page as a user sees it, with canned data instead of SQL Server, and saves PNGs in
# web-app/screenshots/: the Kerberos success page, the NTLM warning and a failure (connection timed out), each at
# desktop width and at 390 px (a phone). The README shows them.
#
# Needs the .NET 10 SDK, Debian's headless-capable Chromium and ImageMagick (apt-get install -y chromium imagemagick).
# No network, no AWS. The canned data (SAMPLEWEBAPP_FAKE_DATA) is honoured only in the Development environment, never in
# a deployed task.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found: install it with apt-get install -y chromium" >&2
  exit 1
fi
# ImageMagick 7 is `magick`, 6 is `convert`; either crops the shots to the page.
if command -v magick >/dev/null 2>&1 && magick -version 2>/dev/null | grep -q '^Version: ImageMagick'; then
  im=(magick)
elif command -v convert >/dev/null 2>&1 && convert -version 2>/dev/null | grep -q '^Version: ImageMagick'; then
  im=(convert)
else
  echo "ImageMagick not found: install it with apt-get install -y imagemagick" >&2
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
# Window widths: a desktop and a phone (390 px). Headless Chromium captures the window, not the page, so each shot is
# taken in a window taller than any page, then cut just below the page's last line: no blank tail, whatever the page says.
declare -A widths=([desktop]=1280 [phone]=390)
tall=4000
bottom_margin=32 # the footer's bottom padding (2rem)
for mode in kerberos ntlm failure; do
  (cd "$work/app" && ASPNETCORE_ENVIRONMENT=Development SAMPLEWEBAPP_FAKE_DATA=$mode ASPNETCORE_HTTP_PORTS=$port \
    KRB5CCNAME="FILE:$work/krbdir/krb5cc" exec dotnet SampleWebApp.dll >"$work/app-$mode.log" 2>&1) &
  app_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.2
  done
  for name in desktop phone; do
    shot="$PWD/$out/$mode-$name.png"
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
      --disable-sync --no-first-run --hide-scrollbars --force-device-scale-factor=1 \
      --window-size="${widths[$name]},$tall" --screenshot="$shot" "http://127.0.0.1:$port/" >/dev/null 2>&1
    # The bounding box of everything that is not the page background (WxH+X+Y): the page ends at Y+H.
    box=$("${im[@]}" "$shot" -format '%@' info:)
    [[ $box =~ ^([0-9]+)x([0-9]+)\+([0-9]+)\+([0-9]+)$ ]] || { echo "cannot measure $shot ($box)" >&2; exit 1; }
    height=$(( BASH_REMATCH[2] + BASH_REMATCH[4] + bottom_margin ))
    (( height < tall )) || { echo "$shot: the page is taller than $tall px; raise tall" >&2; exit 1; }
    "${im[@]}" "$shot" -crop "${widths[$name]}x${height}+0+0" +repage "$shot"
    echo "wrote $out/$mode-$name.png (${widths[$name]}x$height)"
  done
  kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=''
done
