// core/io/input.h: what every reader of untrusted files stands on.
#include <sys/stat.h>

#include <fstream>

#include "core/io/input.h"
#include "tests/helpers.h"

using namespace mg;

TEST_CASE("input: only regular files are read, and each refusal names the file and why") {
    test::TempDir dir;
    const std::string file = dir / "a.json", fifo = dir / "fifo", loop = dir / "loop";
    std::ofstream(file) << "{\"a\": [1, 2]}";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::filesystem::create_symlink(loop, loop);
    CHECK(io::read_text_file(file, "--config") == "{\"a\": [1, 2]}");
    CHECK_THROWS_WITH_AS(io::require_regular_file(fifo, "--config"), doctest::Contains("is a FIFO"), Error);
    CHECK_THROWS_WITH_AS(io::require_regular_file(dir.str(), "--samples"), doctest::Contains("is a directory"), Error);
    CHECK_THROWS_WITH_AS(io::require_regular_file(loop, "checkpoint"), doctest::Contains("symbolic links"), Error);
    CHECK_THROWS_WITH_AS(io::require_regular_file(dir / "none", "x"), doctest::Contains("no such file"), Error);
    CHECK_THROWS_WITH_AS(io::read_text_file(file, "--config", 4), doctest::Contains("more than the 4"), Error);
}

TEST_CASE("input: JSON is parsed with bounded depth, and every failure is an mg::Error") {
    CHECK(io::json_depth(R"({"a": "[[[[", "b": [{"c": 1}]})") == 3);
    CHECK(io::parse_json(R"({"a": [1, {"b": 2}]})", "t")["a"][1]["b"] == 2);
    std::string deep(100000, '[');
    deep += std::string(100000, ']');
    CHECK_THROWS_WITH_AS(io::parse_json(deep, "--config f"), doctest::Contains("nested 100000 levels"), Error);
    CHECK_THROWS_WITH_AS(io::parse_json("[1e400]", "metrics.jsonl line 3"), doctest::Contains("metrics.jsonl line 3"),
                         Error);
    CHECK_THROWS_WITH_AS(io::parse_json("{ nope", "x"), doctest::Contains("not valid JSON"), Error);
    CHECK(io::quote_short(std::string(1000, 'k'), 10) == "kkkkkkkkkk... (1000 bytes)");
}
