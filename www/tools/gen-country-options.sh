#!/bin/sh
# gen-country-options.sh - (re)generate the <option> list of the `country`
# <select> in www/index.html (the form template) from Debian's iso-codes.
#
#   www/tools/gen-country-options.sh           rewrite index.html in place
#   www/tools/gen-country-options.sh --check   exit 1 when it is stale
#   www/tools/gen-country-options.sh --print   print the plain list only
#
# Source: iso-codes' ISO 3166-1 JSON (Debian package `iso-codes`), found
# through `pkg-config --variable=prefix iso-codes` (the same file the
# handler's country normalization reads), or the path in $ISO_3166_JSON.
#
# Each country is one option: the value is the alpha-2 code, the label is
# iso-codes' `common_name` when it has one (e.g. "South Korea", "Vietnam")
# and its `name` otherwise.  Options are sorted by label, ignoring accents
# and case, so "Åland Islands" sorts under A.  The list is written between
# the two marker comments
#     <!-- country-options:begin ... -->  and  <!-- country-options:end -->
# that already sit inside the <select>; nothing outside them is touched.
# Each option carries a {{selected:country:XX}} placeholder, so the
# handler's re-shown form keeps the submitted country (www/README);
# --print leaves them out.
#
# Needs: python3 (Debian package python3), iso-codes.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-write}
case $mode in
write | --check | --print) ;;
*)
	echo "usage: $0 [--check | --print]" >&2
	exit 2
	;;
esac

json=${ISO_3166_JSON:-}
if [ -z "$json" ]; then
	prefix=$(pkg-config --variable=prefix iso-codes 2>/dev/null || echo /usr)
	json=$prefix/share/iso-codes/json/iso_3166-1.json
fi
if [ ! -r "$json" ]; then
	echo "$0: cannot read $json (install Debian's iso-codes, or set ISO_3166_JSON)" >&2
	exit 1
fi

exec python3 - "$json" "$here" "$mode" <<'PY'
import html, json, re, sys, unicodedata

src, www, mode = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding="utf-8") as f:
    countries = json.load(f)["3166-1"]

def label(c):
    return c.get("common_name") or c["name"]

def key(c):
    s = unicodedata.normalize("NFKD", label(c))
    return "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()

countries.sort(key=key)

def options(template, indent):
    out = []
    for c in countries:
        code = c["alpha_2"]
        sel = " {{selected:country:%s}}" % code if template else ""
        out.append('%s<option value="%s"%s>%s</option>'
                   % (indent, code, sel, html.escape(label(c), quote=False)))
    return "\n".join(out)

marker = re.compile(r"(?P<head>(?P<indent>[ \t]*)<!-- country-options:begin[^\n]*-->\n)"
                    r".*?"
                    r"(?P<tail>[ \t]*<!-- country-options:end -->)", re.S)

if mode == "--print":
    print(options(False, ""))
    sys.exit(0)

stale = []
for name, template in (("index.html", True),):
    path = "%s/%s" % (www, name)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = marker.search(text)
    if not m:
        sys.exit("%s: no country-options markers" % path)
    new = (text[:m.start()] + m.group("head") + options(template, m.group("indent")) + "\n"
           + m.group("tail") + text[m.end():])
    if new != text:
        stale.append(name)
        if mode == "write":
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)

if mode == "--check":
    if stale:
        print("stale country options in: %s (run www/tools/gen-country-options.sh)"
              % ", ".join(stale), file=sys.stderr)
        sys.exit(1)
    print("country options up to date (%d countries)" % len(countries))
else:
    print("%d countries; rewrote: %s" % (len(countries), ", ".join(stale) or "nothing"))
PY
