// SPDX-License-Identifier: Apache-2.0
//
// The libFuzzer target: each input goes through MMFuzz.FuzzHarness; a property that does not
// hold aborts, and libFuzzer keeps the input (crash-<sha1>). Built with `-sanitize=fuzzer`
// (coverage instrumentation of every module, and libFuzzer linked in). An executable target
// has a main() of its own, so this one hands control to libFuzzer's driver
// (LLVMFuzzerRunDriver()): `mmlab-fuzz [libFuzzer flags] CORPUS…` fuzzes, `mmlab-fuzz FILE…`
// replays inputs, as any libFuzzer binary does.

#if canImport(Glibc)
import Glibc
#endif
import MMFuzz

/// One input (LLVMFuzzerTestOneInput's contract): 0, or an abort for a property that failed.
func mmlabFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let verdict = FuzzHarness.check(bytes)
    if let problem = verdict.problems.first {
        fatalError("mmlab-fuzz: \(problem)\n--- input (\(verdict.stage)) ---\n\(String(decoding: bytes, as: UTF8.self))\n---")
    }
    return 0
}

/// libFuzzer's driver (compiler-rt/lib/fuzzer/FuzzerInterface.h).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

// `mmlab-fuzz --print-dict`: the language's words in libFuzzer's dictionary format.
if CommandLine.arguments.dropFirst().first == "--print-dict" {
    for w in FuzzHarness.dictionary {
        var line = "\""
        for b in w.utf8 {
            if b == 0x22 || b == 0x5C { line += "\\" + String(UnicodeScalar(b)) }
            else if b < 0x20 || b > 0x7E { line += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16) }
            else { line += String(UnicodeScalar(b)) }
        }
        print(line + "\"")
    }
    exit(0)
}

// `mmlab-fuzz --stages FILE…`: how far each input goes (parse error, check error, not run, ran,
// explored), counted, and the problems any of them shows: what a corpus exercises.
if CommandLine.arguments.dropFirst().first == "--stages" {
    var stages: [String: Int] = [:]
    var problems = 0
    for path in CommandLine.arguments.dropFirst(2) {
        guard let f = fopen(path, "rb") else { continue }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        fclose(f)
        let v = FuzzHarness.check(bytes)
        let stage = v.stage.hasPrefix("not run") ? "not run (bounds)" : v.stage
        stages[stage, default: 0] += 1
        for p in v.problems { print("\(path): \(p)"); problems += 1 }
    }
    for (s, n) in stages.sorted(by: { $0.key < $1.key }) { print("\(s): \(n)") }
    print("problems: \(problems)")
    exit(problems == 0 ? 0 : 1)
}

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in mmlabFuzzOne(data, size) })
