import PolicyLanguage

/// libFuzzer entry: YAML text through the policy reader and every compiler stage; the result is either
/// a compiled policy or diagnostics, which are then formatted as the CLI prints them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    // PolicyLoader refuses files that are not UTF-8 before compiling.
    guard let text = String(validating: UnsafeBufferPointer(start: start, count: count), as: UTF8.self) else { return 0 }
    let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "fuzz.yaml", text: text)])
    if policy == nil, !diagnostics.contains(where: { $0.severity == .error }) { fatalError("no policy and no error") }
    _ = DiagnosticFormatter.text(diagnostics)
    return 0
}
