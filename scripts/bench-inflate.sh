#!/usr/bin/env bash
# Prints the command that inflates blob $1, chosen by its magic bytes.
case "$(head -c4 "$1" | od -An -tx1 | tr -d ' ')" in
  1f8b*) echo "gzip -dc";;
  28b52ffd) echo "zstd -dc";;
  *) echo "cat";;
esac
