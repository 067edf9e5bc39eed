"""Generates C++ Protobuf and gRPC code with Debian's protoc and grpc_cpp_plugin."""

def cc_grpc_proto_library(name, srcs, grpc_srcs = [], deps = [], visibility = None):
    """A cc_library of the messages in `srcs` and the gRPC services in `grpc_srcs`.

    Paths in `srcs` are relative to this package, which is the proto import root.
    """
    outs = []
    for src in srcs:
        stem = src[:-len(".proto")]
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if src in grpc_srcs:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]
    root = native.package_name()
    grpc_cmd = ""
    if grpc_srcs:
        grpc_cmd = (" && protoc -I{root} --grpc_out=$(GENDIR)/{root}" +
                    " --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin {files}").format(
            root = root,
            files = " ".join([root + "/" + s for s in grpc_srcs]),
        )
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs,
        cmd = "protoc -I{root} --cpp_out=$(GENDIR)/{root} $(SRCS)".format(root = root) + grpc_cmd,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["@system_libs//:protobuf"] + (["@system_libs//:grpc"] if grpc_srcs else []),
        visibility = visibility,
    )
