#!/usr/bin/env bash
# Layering check (docs/architecture.md, "Layers"): dependencies run one way,
# core ← applications. A core module must not reference an application
# module, and `plot` (an application, but generic) must not reference the
# other applications either.
#
# Application modules: crate::paper (src/paper.rs), crate::plot (src/plot/),
# crate::problems::data (src/problems/data/), crate::problems::tomography
# (src/problems/tomography.rs), and the CLI (src/bin/, a separate crate).
# Everything else under src/ is core.
#
# What counts as a reference, in every core file: a `crate::…` path (in code,
# in `use` lines — `crate::{…}` groups are expanded — and in intra-doc
# links), `super::…` and `self::…` paths resolved against the file's module,
# and `splitflow::…` paths in doc comments (doc-tests and examples). Plain
# `//` comments are ignored. Exit status 1 names every offending file and
# line.
set -euo pipefail
cd "$(dirname "$0")/.."

# Module path of a source file: src/a/b.rs → crate::a::b, src/a/mod.rs → crate::a.
module_of() {
    local m=${1#src/}
    m=${m%.rs}
    m=${m%/mod}
    [[ $m == lib ]] && m=""
    echo "crate${m:+::${m//\//::}}"
}

is_app() { [[ $1 =~ ^src/(paper\.rs|paper/|plot\.rs|plot/|problems/data\.rs|problems/data/|problems/tomography\.rs|bin/) ]]; }

# What a file may not reference (an extended regex on absolute paths).
APPS='crate::(paper|plot|problems::data|problems::tomography)'
OTHER_APPS='crate::(paper|problems::data|problems::tomography)'

status=0
while IFS= read -r file; do
    if [[ $file =~ ^src/(plot\.rs|plot/) ]]; then
        forbidden=$OTHER_APPS
        kind="generic application module"
    elif is_app "$file"; then
        continue
    else
        forbidden=$APPS
        kind="core module"
    fi
    module=$(module_of "$file")
    # `super::` of a mod.rs/lib.rs file is its module's parent; of a leaf file, too.
    parent=${module%::*}
    [[ $module == crate ]] && parent=crate
    grandparent=${parent%::*}
    [[ $parent == crate ]] && grandparent=crate
    awk -v file="$file" -v self="$module" -v parent="$parent" -v grand="$grandparent" \
        -v forbidden="$forbidden" -v kind="$kind" '
    # Expands `a::{b, c::{d, e}}` into `a::b, a::c::d, a::c::e`, innermost group first.
    function flatten(s,    pre, inner, n, parts, i, out, start, len) {
        while (match(s, /[A-Za-z0-9_:]*::[{][^{}]*[}]/)) {
            start = RSTART; len = RLENGTH
            pre = substr(s, start, len)
            inner = pre
            sub(/::[{].*/, "", pre)
            sub(/^[^{]*[{]/, "", inner)
            sub(/[}]$/, "", inner)
            n = split(inner, parts, ",")
            out = ""
            for (i = 1; i <= n; i++) {
                gsub(/^[ \t]+|[ \t]+$/, "", parts[i])
                if (parts[i] == "") continue
                out = out (out == "" ? "" : ", ") pre "::" parts[i]
            }
            s = substr(s, 1, start - 1) out substr(s, start + len)
        }
        return s
    }
    function absolute(s) {
        gsub(/super::super::/, grand "::", s)
        gsub(/super::/, parent "::", s)
        gsub(/self::/, self "::", s)
        return s
    }
    function report(line, text) {
        gsub(/^[ \t]+/, "", text)
        printf "%s:%d: %s %s references an application module: %s\n", file, line, kind, self, text
        bad = 1
    }
    function check(line, s, text) {
        if (match(s, "(^|[^A-Za-z0-9_])" forbidden "([^A-Za-z0-9_]|$)")) report(line, text)
    }
    {
        text = $0
        if (text ~ /^[ \t]*\/\/([^\/!]|$)/) next          # plain comment
        doc = (text ~ /^[ \t]*\/\/[\/!]/)
        s = text
        if (doc) {
            sub(/^[ \t]*\/\/[\/!][ \t]*(#[ \t]+)?/, "", s)
            gsub(/splitflow::/, "crate::", s)
        }
        if (!in_use && s ~ /^[ \t]*(pub(\([a-z]+\))?[ \t]+)?use[ \t]/) {
            in_use = 1; use_line = NR; stmt = ""; use_text = text
        }
        if (in_use) {
            stmt = stmt " " s
            if (s ~ /;/) {
                in_use = 0
                check(use_line, absolute(flatten(stmt)), use_text)
            }
            next
        }
        check(NR, absolute(s), text)
    }
    END { exit bad }' "$file" || status=1
done < <(find src -name '*.rs' | sort)

if [[ $status -ne 0 ]]; then
    echo "layering: core modules must not import application modules (see docs/architecture.md, Layers)" >&2
    exit 1
fi
echo "layering: ok (core ← applications)"
