#!/usr/bin/env bash
# Regenerates internal/pb from its .proto into the folder given (default:
# internal/pb itself). protoc comes from Debian's protobuf-compiler; the Go
# plugins are installed from the module proxy at pinned versions so every
# machine generates byte-identical code.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-internal/pb}"
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
tools="$PWD/bin/tools"
if ! command -v protoc >/dev/null; then
	echo "protoc missing: apt-get install protobuf-compiler" >&2
	exit 1
fi
if [[ ! -x "$tools/protoc-gen-go-$PROTOC_GEN_GO" ]]; then
	GOBIN="$tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
	mv "$tools/protoc-gen-go" "$tools/protoc-gen-go-$PROTOC_GEN_GO"
fi
if [[ ! -x "$tools/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC" ]]; then
	GOBIN="$tools" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
	mv "$tools/protoc-gen-go-grpc" "$tools/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC"
fi
mkdir -p "$out"
protoc -I internal/pb \
	--plugin=protoc-gen-go="$tools/protoc-gen-go-$PROTOC_GEN_GO" \
	--plugin=protoc-gen-go-grpc="$tools/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC" \
	--go_out="$out" --go_opt=paths=source_relative \
	--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
	internal/pb/command.proto
