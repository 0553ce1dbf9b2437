#!/usr/bin/env bash
# Release artifacts of jkda and jkda-hub for the machines clinics have, into
# dist/ (gitignored). README.md "Release builds" says what each is for.
#
#   scripts/release.sh                 # the three default targets below
#   scripts/release.sh TARGET...       # only these (any of the targets below)
#
# Targets (all `cargo build --release --features vendored-openssl`: OpenSSL
# compiled in, so nothing but the C library / Windows itself is needed):
#   x86_64-unknown-linux-musl  static 64-bit Linux binary, any distribution
#                              (C compiler: musl-gcc from Debian's musl-tools)
#   i686-unknown-linux-musl    static 32-bit Linux binary (old 32-bit PCs);
#                              Debian has no i686 musl C compiler, so C code
#                              (SQLite/SQLCipher, OpenSSL) is compiled and the
#                              result linked with `zig cc` via cargo-zigbuild,
#                              both from PyPI (ziglang, cargo-zigbuild),
#                              installed into target/release-tools/venv
#   x86_64-pc-windows-gnu      Windows 10/11 64-bit .exe (Debian's
#                              gcc-mingw-w64-x86-64); Rust's std needs Windows 10
#   x86_64-win7-windows-gnu    NOT in the defaults, experimental: Windows 7/8
#                              64-bit, a tier-3 Rust target built with nightly
#                              `-Zbuild-std` (installs the nightly toolchain and
#                              rust-src with rustup when missing). openssl-src
#                              and cc-rs do not know the triple: it reuses the
#                              OpenSSL of an earlier x86_64-pc-windows-gnu build
#                              (build that first) and names mingw's gcc itself.
#                              Never run here; see README
#
# Missing Debian packages are installed with apt-get (as .ci/run does for
# libssl-dev), missing Rust targets with `rustup target add`.
#
# The Linux binaries are smoke-tested here: --version, `forms check forms/*.toml`,
# `init --no-encrypt` (password on stdin) in a temporary data directory,
# `demo --residents 20`, `residents search`, and they must be static (no
# dynamic section entries: `file`, `ldd`, `readelf -d`). The Windows .exe
# cannot run here (Debian 12's Wine cannot load bcryptprimitives.dll, which
# Rust's std imports): its DLL imports are checked instead — only DLLs that
# come with Windows, no OpenSSL, libgcc or winpthread DLL.
#
# Output: dist/jkda-VERSION-TARGET/{jkda,jkda-hub}[.exe], an archive of each
# (.tar.gz for Linux, .zip for Windows), dist/SHA256SUMS and dist/SIZES.txt.
# Environment: CARGO_BUILD_JOBS (default 2), JKDA_RELEASE_SMOKE=0 skips the
# smoke tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

DEFAULT_TARGETS=(x86_64-unknown-linux-musl i686-unknown-linux-musl x86_64-pc-windows-gnu)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${DEFAULT_TARGETS[@]}"); fi

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
dist="dist"
tools="target/release-tools"
mkdir -p "$dist"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_updated=""
apt_install() { # apt_install PACKAGE... (only when some are missing)
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "== installing ${missing[*]}"
    if [ -z "$apt_updated" ]; then $sudo apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

rust_target() { # rust_target TRIPLE
    rustup target list --installed | grep -qx "$1" || rustup target add "$1"
}

zigbuild_env() { # puts cargo-zigbuild and zig (PyPI packages) on PATH
    if [ ! -x "$tools/venv/bin/cargo-zigbuild" ]; then
        echo "== installing cargo-zigbuild and ziglang (PyPI) into $tools/venv"
        apt_install python3-venv
        python3 -m venv "$tools/venv"
        "$tools/venv/bin/pip" install -q cargo-zigbuild ziglang
    fi
    # cargo-zigbuild finds zig as `python3 -m ziglang` with the venv's python3.
    export PATH="$PWD/$tools/venv/bin:$PATH"
}

# Common tools of the checks below.
apt_install file binutils

build() { # build TRIPLE: compiles both binaries into target/TRIPLE/release
    local t="$1"
    local cargo=(cargo build)
    local features=(--features vendored-openssl)
    case "$t" in
        x86_64-unknown-linux-musl)
            apt_install musl-tools
            rust_target "$t"
            # cc-rs picks musl-gcc for this target by itself.
            ;;
        i686-unknown-linux-musl)
            rust_target "$t"
            zigbuild_env
            cargo=(cargo zigbuild)
            # OpenSSL 3.6 calls __atomic_is_lock_free on 64-bit values, which on
            # i686 is a libatomic function that zig does not provide (the link
            # fails); OpenSSL's own switch makes it use its lock-based
            # fallbacks instead.
            export CFLAGS_i686_unknown_linux_musl="-DBROKEN_CLANG_ATOMICS"
            ;;
        x86_64-pc-windows-gnu)
            apt_install gcc-mingw-w64-x86-64
            rust_target "$t"
            ;;
        x86_64-win7-windows-gnu)
            apt_install gcc-mingw-w64-x86-64
            rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
            rustup component list --toolchain nightly --installed | grep -q '^rust-src' \
                || rustup component add rust-src --toolchain nightly
            cargo=(cargo +nightly build -Zbuild-std)
            # openssl-src does not know this target triple, so the vendored
            # feature cannot build OpenSSL for it: reuse the static OpenSSL
            # that the x86_64-pc-windows-gnu build compiled (same ABI).
            local ossl
            ossl="$(ls -d "$PWD"/target/x86_64-pc-windows-gnu/release/build/openssl-sys-*/out/openssl-build/install 2>/dev/null | head -n1)"
            if [ -z "$ossl" ]; then
                echo "build x86_64-pc-windows-gnu first (its OpenSSL is reused)" >&2
                exit 1
            fi
            export X86_64_WIN7_WINDOWS_GNU_OPENSSL_DIR="$ossl" X86_64_WIN7_WINDOWS_GNU_OPENSSL_STATIC=1
            # cc-rs does not know the triple either (it would use the host cc).
            export CC_x86_64_win7_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_win7_windows_gnu=x86_64-w64-mingw32-ar
            features=()
            ;;
        *)
            echo "unknown target $t (see the head of $0)" >&2
            exit 2
            ;;
    esac
    echo "== ${cargo[*]} --release --locked --target $t ${features[*]} --bins" >&2
    local start=$SECONDS
    "${cargo[@]}" --release --locked --target "$t" "${features[@]}" --bins >&2
    echo "== $t built in $((SECONDS - start)) s" >&2
}

check_static() { # check_static BINARY
    local b="$1" f
    f="$(file -b "$b")"
    echo "   file: $f"
    case "$f" in
        *"statically linked"* | *"static-pie linked"*) ;;
        *) echo "FAIL: $b is not static" >&2; exit 1 ;;
    esac
    if readelf -d "$b" 2>/dev/null | grep -q '(NEEDED)'; then
        echo "FAIL: $b needs shared libraries:" >&2
        readelf -d "$b" | grep '(NEEDED)' >&2
        exit 1
    fi
    # ldd of a static binary says so (its wording differs between versions);
    # it must never list a library.
    local l
    l="$(ldd "$b" 2>&1 || true)"
    echo "   ldd: $l"
    if grep -q '=>' <<<"$l"; then echo "FAIL: ldd lists libraries for $b" >&2; exit 1; fi
}

smoke_linux() { # smoke_linux FOLDER
    local d="$1" tmp out
    tmp="$(mktemp -d)"
    local j="$d/jkda" h="$d/jkda-hub"
    check_static "$j"
    check_static "$h"
    echo "   $("$j" --version)"
    echo "   $("$h" --version)"
    "$j" --lang en forms check forms/*.toml >"$tmp/forms.out"
    echo "   forms check forms/*.toml: $(tail -n1 "$tmp/forms.out")"
    # A clean environment: no config or key file of the person running this.
    local env=(env -i "PATH=/usr/bin:/bin" "HOME=$tmp/home" "USER=release-smoke" "LANG=C.UTF-8")
    mkdir -p "$tmp/home"
    printf '%s\n' 'release-smoke-pw-2026' \
        | "${env[@]}" "$j" --lang en --data-dir "$tmp/data" init --no-encrypt >"$tmp/init.out"
    echo "   init --no-encrypt: ok"
    "${env[@]}" "$j" --lang en --data-dir "$tmp/data" demo --residents 20 >"$tmp/demo.out"
    echo "   demo --residents 20: $(tail -n1 "$tmp/demo.out")"
    "${env[@]}" "$j" --lang en --data-dir "$tmp/data" residents search --json z >"$tmp/search.json"
    local n first
    n="$(grep -c '"record_no"' "$tmp/search.json" || true)"
    first="$(sed -n 's/^ *"record_no": "\([0-9]*\)".*/\1/p' "$tmp/search.json" | head -n1)"
    if [ "$n" -lt 1 ] || [ -z "$first" ]; then
        echo "FAIL: residents search z found nobody among 20 demo residents" >&2
        cat "$tmp/search.json" >&2
        exit 1
    fi
    "${env[@]}" "$j" --lang en --data-dir "$tmp/data" residents search --json "$first" >"$tmp/one.json"
    if ! grep -q "\"record_no\": \"$first\"" "$tmp/one.json"; then
        echo "FAIL: residents search by record number $first did not find it" >&2
        exit 1
    fi
    echo "   residents search: z -> $n residents; record number $first -> found"
    "${env[@]}" "$h" --help >/dev/null
    echo "   jkda-hub --help: ok"
    rm -rf "$tmp"
}

check_windows() { # check_windows FOLDER: DLL imports of the .exe files
    local d="$1" b dlls
    for b in "$d/jkda.exe" "$d/jkda-hub.exe"; do
        echo "   file: $(file -b "$b")"
        dlls="$(x86_64-w64-mingw32-objdump -p "$b" | sed -n 's/^\s*DLL Name: //p' | sort -u | tr '\n' ' ')"
        echo "   $(basename "$b") imports: $dlls"
        if grep -qiE '(^| )(lib[^ ]*|[^ ]*ssl[^ ]*|[^ ]*crypto[^ ]*)\.dll' <<<"$dlls"; then
            echo "FAIL: $b needs a DLL that Windows does not have" >&2
            exit 1
        fi
        # DLLs that Windows 7 does not have (Windows 8 and 10 ones).
        if [[ "$d" == *win7* ]] && grep -qiE '(^| )(combase|bcryptprimitives|api-ms-win-[^ ]*)\.dll' <<<"$dlls"; then
            echo "   WARNING: $(basename "$b") imports a DLL that Windows 7 lacks: it will not start there"
        fi
    done
}

: >"$dist/SIZES.txt.new"
for t in "${targets[@]}"; do
    ( build "$t" )
    exe=""
    case "$t" in *windows*) exe=".exe" ;; esac
    out="$dist/jkda-$version-$t"
    rm -rf "$out"
    mkdir -p "$out"
    for bin in jkda jkda-hub; do
        cp "target/$t/release/$bin$exe" "$out/"
    done
    echo "== $t: checks"
    case "$t" in
        *linux*)
            if [ "${JKDA_RELEASE_SMOKE:-1}" != 0 ]; then smoke_linux "$out"; fi
            tar -C "$dist" -czf "$out.tar.gz" "$(basename "$out")"
            archive="$out.tar.gz"
            ;;
        *windows*)
            check_windows "$out"
            rm -f "$out.zip"
            (cd "$dist" && python3 -m zipfile -c "$(basename "$out").zip" "$(basename "$out")")
            archive="$out.zip"
            ;;
    esac
    for bin in jkda jkda-hub; do
        size="$(stat -c %s "$out/$bin$exe")"
        awk -v t="$t" -v b="$bin$exe" -v s="$size" \
            'BEGIN { printf "%-28s %-14s %10d bytes  %5.2f MB\n", t, b, s, s / 1e6 }' >>"$dist/SIZES.txt.new"
    done
    printf '%-28s %-14s %10d bytes\n' "$t" "$(basename "$archive")" "$(stat -c %s "$archive")" >>"$dist/SIZES.txt.new"
    echo "== $t: done ($out)"
done

# SIZES.txt keeps the lines of targets not built this time.
if [ -f "$dist/SIZES.txt" ]; then
    for t in "${targets[@]}"; do sed -i "/^$t /d" "$dist/SIZES.txt"; done
    cat "$dist/SIZES.txt" >>"$dist/SIZES.txt.new"
fi
sort -o "$dist/SIZES.txt" "$dist/SIZES.txt.new"
rm -f "$dist/SIZES.txt.new"
(cd "$dist" && sha256sum ./*.tar.gz ./*.zip 2>/dev/null | sed 's# \./# #' >SHA256SUMS) || true
echo "== artifacts in $dist/:"
cat "$dist/SIZES.txt"
