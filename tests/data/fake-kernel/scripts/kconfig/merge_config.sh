#!/bin/sh
# fake merge_config.sh -m -O DIR BASE FRAGMENT...: later settings win
[ "$1" = -m ] && shift
[ "$1" = -O ] && { out=$2; shift 2; }
base=$1; shift
for f in "$@"; do
  grep -E '^(CONFIG_|# CONFIG_)' "$f" | while IFS= read -r line; do
    sym=$(printf '%s\n' "$line" | sed -E 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1/; s/^(CONFIG_[A-Za-z0-9_]+)=.*/\1/')
    grep -vE "^($sym=|# $sym is not set)" "$base" > "$base.tmp"; mv "$base.tmp" "$base"
    printf '%s\n' "$line" >> "$base"
  done
done
