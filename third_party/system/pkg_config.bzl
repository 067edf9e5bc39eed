"""Wraps system libraries found by pkg-config as cc_library targets.

Each key of `packages` becomes `@<name>//:<key>`, a header-less cc_library whose
copts and linkopts are what `pkg-config --cflags/--libs` prints for the listed
pkg-config modules on the build machine (Debian's -dev packages).
"""

_SPDLOG_DEFINES = ["SPDLOG_FMT_EXTERNAL", "SPDLOG_SHARED_LIB", "SPDLOG_COMPILED_LIB"]

def _pkg_config(ctx, flag, modules):
    result = ctx.execute(["pkg-config", flag] + modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (is the -dev package installed?): %s" %
             (flag, " ".join(modules), result.stderr))
    return [f for f in result.stdout.strip().split(" ") if f]

# System libraries that always stay shared (glibc's and the compiler's).
_ALWAYS_SHARED = ["-lm", "-ldl", "-lrt", "-lpthread", "-latomic", "-lc", "-lgcc_s"]

def _static_libs(ctx, modules, shared):
    """Link flags that take the modules' own libraries from their .a archives.

    Libraries named in `shared` (without "-l") stay shared even when a static
    archive pulls them in (gRPC's libgrpc.a needs libssl, libcrypto, libz and
    c-ares), so that Debian's security updates of those reach the binaries.
    One --start-group per wrapper, so the order in which Bazel lists the
    wrappers on the link line does not matter.
    """
    out = ["-Wl,--start-group"]
    for flag in _pkg_config(ctx, "--libs", ["--static"] + modules):
        if flag.startswith("-l") and flag[2:] in shared:
            out.append(flag)
        elif flag.startswith("-l") and flag not in _ALWAYS_SHARED:
            out.append("-l:lib%s.a" % flag[2:])
        elif flag.startswith("-Wl,--push-state") or flag.startswith("-Wl,--pop-state"):
            continue
        else:
            out.append(flag)
    out.append("-Wl,--end-group")
    return out

def _pkg_config_library_impl(ctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in ctx.attr.packages.items():
        cflags = _pkg_config(ctx, "--cflags", modules)
        if name in ctx.attr.static:
            libs = _static_libs(ctx, modules, ctx.attr.shared)
        else:
            libs = _pkg_config(ctx, "--libs", modules)
        defines = _SPDLOG_DEFINES if "spdlog" in modules else []
        build.append("cc_library(")
        build.append("    name = %r," % name)
        build.append("    copts = %r," % [f for f in cflags if not f.startswith("-D")])
        build.append("    defines = %r," % (defines + [f[2:] for f in cflags if f.startswith("-D")]))
        build.append("    linkopts = %r," % libs)
        build.append(")")
        build.append("")
    ctx.file("WORKSPACE", "workspace(name = %r)\n" % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(build))

pkg_config_library = repository_rule(
    implementation = _pkg_config_library_impl,
    attrs = {
        "packages": attr.string_list_dict(mandatory = True),
        # Keys of `packages` to link from static archives.
        "static": attr.string_list(),
        # Libraries ("ssl" for -lssl) that stay shared inside `static` ones.
        "shared": attr.string_list(),
    },
    local = True,
)
