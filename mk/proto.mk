# Protobufs of the scanner core (api/proto) and the OpenAPI copy the gateway
# embeds. The generated code is committed, so a plain `go build` works;
# run `make proto` after editing a .proto file.
# Needs: protoc (Debian protobuf-compiler) and the two Go plugins:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PROTOC       ?= protoc
PROTO_FILES  := $(shell find api/proto -name '*.proto')
GOBIN_DIR    := $(shell $(GO) env GOPATH)/bin

.PHONY: proto openapi

proto: openapi
	PATH="$(GOBIN_DIR):$$PATH" $(PROTOC) -I api/proto \
		--go_out=api/proto --go_opt=paths=source_relative \
		--go-grpc_out=api/proto --go-grpc_opt=paths=source_relative \
		$(PROTO_FILES)

# internal/server embeds its own copy of api/openapi.json (go:embed cannot
# reach a parent directory); a test fails when the two differ.
openapi:
	cp api/openapi.json internal/server/openapi.json
