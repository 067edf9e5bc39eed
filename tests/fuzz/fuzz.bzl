"""One target per fuzzer, two ways to build it.

Normally a fuzzer is a gtest that replays its seed corpus and every input
that once crashed it (tests/fuzz/regressions), so both run in every test
pass. Under `--config=fuzz` (clang, libFuzzer, ASan+UBSan) the same target is
a libFuzzer binary: tests/fuzz/run_fuzzers.sh runs each for a bounded time.
"""

def opsagent_fuzzer(name, deps):
    corpus = "corpus/" + name
    regressions = "regressions/" + name
    native.cc_test(
        name = name,
        size = "small",
        srcs = [name + ".cc"],
        args = [
            native.package_name() + "/" + corpus,
            native.package_name() + "/" + regressions,
        ],
        data = native.glob([corpus + "/**", regressions + "/**"]),
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
    )
