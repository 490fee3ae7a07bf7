#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry.
#
# Usage: static/vendor/update.sh            (the pinned versions below)
#        BOOTSTRAP=5 HTMX=2 ICONS=1 CYTOSCAPE=3 CHARTJS=4 static/vendor/update.sh   (newest matching)
# Only the dist files the templates use are copied, each library with its
# LICENSE. Afterwards update the versions in static/vendor/README.md.
set -euo pipefail

BOOTSTRAP="${BOOTSTRAP:-5.3.9}"
HTMX="${HTMX:-2.0.11}"
ICONS="${ICONS:-1.13.2}"
CYTOSCAPE="${CYTOSCAPE:-3.35.0}"
CHARTJS="${CHARTJS:-4.6.1}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "bootstrap@${BOOTSTRAP}" "htmx.org@${HTMX}" "bootstrap-icons@${ICONS}" "cytoscape@${CYTOSCAPE}" "chart.js@${CHARTJS}" >packed.txt
for tarball in $(cat packed.txt); do
    name="${tarball%.tgz}"
    mkdir -p "$name"
    tar -xzf "$tarball" -C "$name"
done
bs="$work/$(grep '^bootstrap-[0-9]' packed.txt | sed 's/\.tgz$//')/package"
hx="$work/$(grep '^htmx\.org-' packed.txt | sed 's/\.tgz$//')/package"
bi="$work/$(grep '^bootstrap-icons-' packed.txt | sed 's/\.tgz$//')/package"
cy="$work/$(grep '^cytoscape-' packed.txt | sed 's/\.tgz$//')/package"
ch="$work/$(grep '^chart\.js-' packed.txt | sed 's/\.tgz$//')/package"

# Bootstrap: CSS and the JS bundle (includes Popper), with their source maps
# (the .min files reference them, and ManifestStaticFilesStorage requires
# every referenced file to exist).
rm -rf "$here/bootstrap"
mkdir -p "$here/bootstrap/css" "$here/bootstrap/js"
cp "$bs/LICENSE" "$here/bootstrap/LICENSE"
cp "$bs/dist/css/bootstrap.min.css" "$bs/dist/css/bootstrap.min.css.map" "$here/bootstrap/css/"
cp "$bs/dist/js/bootstrap.bundle.min.js" "$bs/dist/js/bootstrap.bundle.min.js.map" "$here/bootstrap/js/"

# htmx
rm -rf "$here/htmx"
mkdir -p "$here/htmx"
cp "$hx/LICENSE" "$here/htmx/LICENSE"
cp "$hx/dist/htmx.min.js" "$here/htmx/"

# Bootstrap Icons: the icon font and its stylesheet (fonts/ relative to it)
rm -rf "$here/bootstrap-icons"
mkdir -p "$here/bootstrap-icons/fonts"
cp "$bi/LICENSE" "$here/bootstrap-icons/LICENSE"
cp "$bi/font/bootstrap-icons.min.css" "$here/bootstrap-icons/"
cp "$bi/font/fonts/bootstrap-icons.woff2" "$bi/font/fonts/bootstrap-icons.woff" "$here/bootstrap-icons/fonts/"

# Cytoscape.js: the minified UMD build (defines window.cytoscape; no source map referenced)
rm -rf "$here/cytoscape"
mkdir -p "$here/cytoscape"
cp "$cy/LICENSE" "$here/cytoscape/LICENSE"
cp "$cy/dist/cytoscape.min.js" "$here/cytoscape/"

# Chart.js: the minified UMD build (defines window.Chart) and the source map it names
rm -rf "$here/chartjs"
mkdir -p "$here/chartjs"
cp "$ch/LICENSE.md" "$here/chartjs/LICENSE.md"
cp "$ch/dist/chart.umd.min.js" "$ch/dist/chart.umd.min.js.map" "$here/chartjs/"

for pkg in "$bs" "$hx" "$bi" "$cy" "$ch"; do
    node -e 'const p=require(process.argv[1]); console.log(`${p.name} ${p.version} (${p.license})`)' "$pkg/package.json"
done
