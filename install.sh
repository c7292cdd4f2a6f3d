#!/usr/bin/env sh
# Builds gw in release mode and installs it with its shell completions.
#   ./install.sh                  installs to ~/.local/bin
#   PREFIX=/usr/local ./install.sh  installs to /usr/local/bin
# Running it again upgrades in place.
set -eu

cd "$(dirname "$0")"
if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo not found; install Rust from https://rustup.rs, then run ./install.sh again" >&2
    exit 1
fi

prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"
mkdir -p "$bindir" || { echo "install.sh: cannot create $bindir; set PREFIX to a writable directory" >&2; exit 1; }

echo "building gw (release)..."
cargo build --release --locked --quiet
install -m 0755 target/release/gw "$bindir/gw.new"
mv -f "$bindir/gw.new" "$bindir/gw"

share="${XDG_DATA_HOME:-$prefix/share}"
if [ "$prefix" != "$HOME/.local" ]; then share="$prefix/share"; fi
install_completion() { # shell, file
    mkdir -p "$(dirname "$2")" 2>/dev/null && "$bindir/gw" completions "$1" > "$2" 2>/dev/null \
        || echo "install.sh: skipped $1 completions ($2 not writable)" >&2
}
install_completion bash "$share/bash-completion/completions/gw"
install_completion zsh "$share/zsh/site-functions/_gw"
install_completion fish "$share/fish/vendor_completions.d/gw.fish"

echo "installed $("$bindir/gw" --version) to $bindir/gw"
case ":$PATH:" in
    *":$bindir:"*) ;;
    *) echo "note: $bindir is not on your PATH; add it, e.g.: export PATH=\"$bindir:\$PATH\"" ;;
esac
