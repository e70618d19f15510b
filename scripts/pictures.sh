#!/usr/bin/env bash
# The README's pictures, made again:
#   scripts/pictures/advise.png  the `advise --html` page of the seeded demo fleet
#                                (scripts/advise-demo.sh), as headless Chromium shows it;
#   scripts/pictures/apply.png   a 120x40 terminal (tmux) during the moto demo's apply
#                                (scripts/demo.sh's fleet), its progress bar showing (the
#                                lines in use, drawn with ImageMagick).
# On the way it checks the page in Chromium: every table of the report has its row, the list's
# script ran (it marks <body data-table-script="ready">) without an error, and a link's
# #filter= and #sort= filter and sort the list.
# Installs what is missing with apt-get (chromium, imagemagick, tmux, fonts-dejavu-core) and
# moto with scripts/ensure-moto.sh. Work files go to .demo/pictures/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=scripts/pictures
work=.demo/pictures
mkdir -p "$out" "$work"

apt_updated=
# install PACKAGE: apt-get install, after one apt-get update per run.
install() {
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    if [ -z "$apt_updated" ]; then
        $sudo apt-get update -qq
        apt_updated=1
    fi
    echo "installing $1" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

command -v chromium >/dev/null || install chromium
command -v tmux >/dev/null || install tmux
# A stand-in `convert` may be on PATH: ImageMagick's own says so in its version.
convert -version 2>/dev/null | grep -q '^Version: ImageMagick' || install imagemagick
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || install fonts-dejavu-core
scripts/ensure-moto.sh

# Headless Chromium, quiet; its console (and any uncaught error) goes to stderr.
chrome() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --enable-logging=stderr --v=0 "$@"
}

# --- the advise page ----------------------------------------------------------------------
scripts/advise-demo.sh >"$work/advise-demo.log"
page="$PWD/.demo/advise/advice.html"
report="$PWD/.demo/advise/advice.json"

# check_dom NAME FRAGMENT: the page opened with #FRAGMENT, its DOM dumped once its script ran,
# and checked against the report (the Python below).
check_dom() {
    chrome --dump-dom "file://$page#$2" >"$work/$1.dom.html" 2>"$work/$1.console.log"
    if grep -E 'Uncaught|CONSOLE' "$work/$1.console.log"; then
        echo "the page's script failed in Chromium ($1): see $work/$1.console.log" >&2
        exit 1
    fi
    python3 - "$work/$1.dom.html" "$report" "$2" <<'PY'
import html.parser, json, sys, urllib.parse

dom_path, report_path, fragment = sys.argv[1:]
asked = dict(urllib.parse.parse_qsl(fragment))


class Rows(html.parser.HTMLParser):
    """The body's attributes and the list's rows: (hidden, [cell text], [cell data-v])."""

    def __init__(self):
        super().__init__()
        self.body, self.rows, self.cell, self.in_list = {}, [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "table" and a.get("id") == "tables":
            self.in_list = True
        elif self.in_list and tag == "tr":
            self.rows.append(("hidden" in a, [], []))
        elif self.in_list and tag == "td":
            self.cell = ""
            self.rows[-1][2].append(a.get("data-v"))

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1][1].append(self.cell)
            self.cell = None
        elif tag == "table":
            self.in_list = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


p = Rows()
p.feed(open(dom_path, encoding="utf-8").read())
rows = [r for r in p.rows if r[1]]  # the header row has no <td>
tables = json.load(open(report_path))["tables"]
assert p.body.get("data-table-script") == "ready", f"the script did not run: <body {p.body}>"
seen = {tuple(r[1][:3]) for r in rows}
want = {(t["account_id"], t["region"], t["table"]) for t in tables}
assert seen == want, f"rows differ from the report: {sorted(seen ^ want)}"
shown = [r for r in rows if not r[0]]
if "filter" in asked:
    words = asked["filter"].lower().split()
    hits = [r for r in rows if all(w in " ".join(r[1]).lower() for w in words)]
    assert 0 < len(shown) < len(rows) and shown == hits, f"#filter={words}: {len(shown)} shown, {len(hits)} match"
if "sort" in asked:
    col = 6  # Saving
    values = [float(r[2][col]) for r in rows]
    assert values == sorted(values, reverse=asked["sort"].startswith("-")), f"not sorted: {values}"
print(f"  {len(rows)} rows, {len(shown)} shown, script ready ({fragment or 'no fragment'})")
PY
}
echo "Checking $page in headless Chromium"
check_dom plain ""
check_dom filtered "filter=eu-west-1%20checkout"
check_dom sorted "sort=-saving"

chrome --screenshot="$PWD/$work/advise-full.png" --window-size=1280,1600 "file://$page" \
    2>"$work/screenshot.log"
convert "$work/advise-full.png" -resize 1024x -strip +dither -colors 256 "PNG8:$out/advise.png"

# --- a terminal during the demo's apply ---------------------------------------------------
cargo build --quiet
bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/ddb-fleet"
source scripts/moto-env.sh
# A tmux server of its own (-L), apart from any the user runs.
tmux_() { tmux -L "ddb-fleet-pictures-$$" "$@"; }
trap 'tmux_ kill-server 2>/dev/null || true; stop_moto' EXIT
aws_env="AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true"
env $aws_env python3 scripts/demo_fleet.py

# The terminal: the apply, its log (a line per table) over its bar. The read stage's warnings
# (a switch starting at min where CloudWatch cannot be read) are left out: the picture is of
# the apply.
rm -f "$work/apply.done"
cat >"$work/apply-session.sh" <<EOF
cd "$PWD"
export $aws_env RUST_LOG=info,ddb_fleet::runner::read=error TERM=xterm-256color
printf '\$ ddb-fleet apply inventories/example.toml --yes\n'
"$bin" apply inventories/example.toml --yes --report "$work/apply.json" --log-format text
touch "$work/apply.done"
sleep 600
EOF
tmux_ new-session -d -s apply -x 120 -y 40 "bash $work/apply-session.sh"
# Every screen that shows the bar (indicatif's template ends in "ETA ..."), until the apply
# ends; the picture is the one halfway through.
rm -f "$work"/apply-screen-*.txt
shots=0
for _ in $(seq 1 1200); do
    [ -e "$work/apply.done" ] && break
    screen=$(tmux_ capture-pane -p -t apply)
    if grep -q ' ETA ' <<<"$screen"; then
        shots=$((shots + 1))
        printf '%s\n' "$screen" >"$work/apply-screen-$shots.txt"
    fi
    sleep 0.05
done
if [ "$shots" -eq 0 ]; then
    echo "the apply never showed its progress bar; its screen was:" >&2
    tmux_ capture-pane -p -t apply >&2
    exit 1
fi
cp "$work/apply-screen-$(((shots + 1) / 2)).txt" "$work/apply-screen.txt"

# One label a line (ImageMagick refuses some screens as one label), stacked, 120 columns of
# DejaVu Sans Mono at 14 points wide (1012 pixels; 18 a line) and as high as the lines
# the screen uses. A label expands % and \ escapes: both are doubled; a blank one fails: a
# blank line is a no-break space.
lines=()
while IFS= read -r line; do
    line=${line%"${line##*[![:space:]]}"}
    line=${line//%/%%}
    line=${line//\\/\\\\}
    lines+=("label:${line:-$'\u00a0'}")
done <"$work/apply-screen.txt"
convert -background '#1d1f21' -fill '#d8dee9' -font DejaVu-Sans-Mono -pointsize 14 \
    "${lines[@]}" -gravity West -append -gravity NorthWest -extent "1012x$((${#lines[@]} * 18))" \
    -bordercolor '#1d1f21' -border 16 -strip -colors 16 "PNG8:$out/apply.png"

ls -l "$out"/advise.png "$out"/apply.png
