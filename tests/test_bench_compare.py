#!/usr/bin/env python3
"""tools/bench_compare.py --markdown: the dated result file, rendered from a small saved comparison
(tests/bench_compare_fixture.json) whose figures are known, so each table cell can be checked."""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "tools", "bench_compare.py")
FIXTURE = os.path.join(HERE, "bench_compare_fixture.json")


def read(path):
    with open(path) as f:
        return f.read()


def render(json_path, target, *extra):
    proc = subprocess.run([sys.executable, SCRIPT, "--from-json", json_path, "--markdown", target, *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"bench_compare.py exited with {proc.returncode}: {proc.stderr}")
    return proc


class ResultFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_named_by_the_date_measured_and_what(self):
        render(FIXTURE, self.tmp.name, "--what", "fixture")
        self.assertEqual(os.listdir(self.tmp.name), ["2026-01-02-fixture.md"])

    def test_header_names_machine_commit_threads_and_commands(self):
        render(FIXTURE, self.tmp.name, "--what", "fixture")
        text = read(os.path.join(self.tmp.name, "2026-01-02-fixture.md"))
        self.assertTrue(text.startswith("# fixture: minigen against PyTorch (2026-01-02)\n"), text[:80])
        self.assertIn("- Measured: 2026-01-02 03:04 UTC\n", text)
        self.assertIn("- Machine: Fixture CPU 9000 (2 cores, 4 logical CPUs, 8.0 GiB of memory; "
                      "Linux-fixture)\n", text)
        self.assertIn("- Threads used: 1, 2 rounds per side\n", text)
        self.assertIn("- minigen commit: 0123456789ab\n", text)
        commands = json.loads(read(FIXTURE))["provenance"]["commands"]
        block = re.search(r"Commands:\n\n```\n(.*?)```\n", text, re.S)
        self.assertIsNotNone(block, text)
        self.assertEqual(block.group(1), "".join(f"$ {c}\n" for c in commands))

    def test_tables_hold_the_medians_over_rounds(self):
        render(FIXTURE, self.tmp.name, "--what", "fixture")
        text = read(os.path.join(self.tmp.name, "2026-01-02-fixture.md"))
        # gan2d: minigen 1.0 and 1.2 ms -> 1.1; PyTorch 2.0 and 2.4 -> 2.2; 2.2 / 1.1 = 2.00x
        self.assertIn("| gan2d | 1.100 | 2.200 | 2.00x |\n", text)
        # sgemm 1024^3: 11 ms against 21 ms; 2.147 GFLOP / 11 ms = 195.2 GFLOP/s
        self.assertIn("| sgemm | 1024x1024x1024 | avx512 | 11.0 | 21.0 | 1.91x | 195.2 / 102.3 GFLOP/s |\n", text)
        self.assertIn("| sum | 16Mi f32 | avx512 | 2.000 | 2.500 | 1.25x | 33.6 / 26.8 GB/s |\n", text)
        self.assertIn("- gan2d: 2.00x PyTorch (target >= 1.5x): met\n", text)
        self.assertIn("measured peaks (minigen bench, best over rounds; GFLOP/s, GB/s): fma@1 260.0, read 44.0\n", text)
        self.assertTrue(text.endswith("other processes 0% during\n"), text[-80:])

    def test_a_path_ending_in_md_is_the_file(self):
        target = os.path.join(self.tmp.name, "chosen.md")
        render(FIXTURE, target)
        self.assertEqual(os.listdir(self.tmp.name), ["chosen.md"])
        self.assertIn("# all-1-thread: minigen against PyTorch (2026-01-02)", read(target))

    def test_a_saved_run_without_provenance_says_so(self):
        saved = json.loads(read(FIXTURE))
        del saved["provenance"]
        old = os.path.join(self.tmp.name, "old.json")
        with open(old, "w") as f:
            json.dump(saved, f)
        out = os.path.join(self.tmp.name, "out")
        os.mkdir(out)
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        render(old, out, "--what", "old")
        names = os.listdir(out)
        self.assertEqual(len(names), 1)
        self.assertRegex(names[0], r"^\d{4}-\d\d-\d\d-old\.md$")
        self.assertLessEqual(abs((datetime.date.fromisoformat(names[0][:10])
                                  - datetime.date.fromisoformat(today)).days), 1)
        text = read(os.path.join(out, names[0]))
        self.assertIn("- minigen commit: not recorded", text)
        self.assertIn("- Machine: CPU Fixture CPU 9000; the rest not recorded", text)
        self.assertIn("| gan2d | 1.100 | 2.200 | 2.00x |\n", text)


    def test_a_missing_folder_is_refused_before_anything_runs(self):
        missing = os.path.join(self.tmp.name, "no-such-folder")
        proc = subprocess.run([sys.executable, SCRIPT, "--from-json", FIXTURE, "--markdown", missing],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"--markdown {missing}: no such directory", proc.stderr)
        self.assertEqual(proc.stdout, "")


class MachineInfo(unittest.TestCase):
    def test_reads_this_machine(self):
        sys.path.insert(0, os.path.dirname(SCRIPT))
        import bench_compare
        info = bench_compare.machine_info()
        self.assertTrue(info["cpu"])
        self.assertGreaterEqual(info["logical_cpus"], 1)
        self.assertTrue(bench_compare.source_commit())


if __name__ == "__main__":
    unittest.main()
